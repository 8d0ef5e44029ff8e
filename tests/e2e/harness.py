"""Drives the real Tillbook app in a real webview: Xvfb, tauri-driver (which starts
WebKitWebDriver), one app process per test with its own data dir, plus helpers to run a
tillbook-server and the `tillbook` CLI next to it.

Nothing here calls cargo: the binaries must be built (scripts/e2e.sh builds them).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.client_config import ClientConfig
from selenium.webdriver.remote.remote_connection import RemoteConnection
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").resolve()
ARTIFACTS = TARGET / "e2e-artifacts"

# Bounded waits (seconds). A test that needs longer says why.
UI_WAIT = float(os.environ.get("TILLBOOK_E2E_UI_WAIT", "10"))
START_WAIT = float(os.environ.get("TILLBOOK_E2E_START_WAIT", "60"))


def binary(name: str, env: str | None = None) -> Path:
    if env and os.environ.get(env):
        return Path(os.environ[env]).resolve()
    return TARGET / "debug" / name


def app_binary() -> Path:
    return binary("tillbook-app", "TILLBOOK_APP")


def server_binary() -> Path:
    return binary("tillbook-server", "TILLBOOK_SERVER")


def cli_binary() -> Path:
    return binary("tillbook", "TILLBOOK_CLI")


def tauri_driver_binary() -> Path | None:
    found = shutil.which("tauri-driver")
    if found:
        return Path(found)
    home = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")
    candidate = home / "bin" / "tauri-driver"
    return candidate if candidate.exists() else None


_libc = None


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when the test process dies, however it dies."""
    global _libc
    import ctypes

    _libc = _libc or ctypes.CDLL(None, use_errno=True)
    _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def stop_on_sigterm() -> None:
    """A SIGTERM (a CI timeout, `kill PID`) unwinds like Ctrl-C, so every process we started
    is stopped by the fixtures' and `finally` clean-ups."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args[0]} exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop_process(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Stops one process we started, by its PID: `sig`, then SIGKILL after `timeout`."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def pids_with_env(marker: str) -> list[int]:
    """PIDs of processes whose environment holds `marker` (e.g. `TILLBOOK_DATA_DIR=/tmp/x`):
    the app and the WebKit processes it started for one test, and nothing else."""
    found = []
    needle = marker.encode() + b"\0"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ + b"\0":
            found.append(int(entry.name))
    return found


def kill_strays(marker: str) -> list[int]:
    pids = pids_with_env(marker)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


# ---------------------------------------------------------------------------------------------
# The display


class Display:
    """An Xvfb server on a display number it picks itself (-displayfd), or the caller's
    $DISPLAY when TILLBOOK_E2E_DISPLAY=host."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.name: str | None = None

    @staticmethod
    def unavailable() -> str | None:
        if os.environ.get("TILLBOOK_E2E_DISPLAY") == "host":
            return None if os.environ.get("DISPLAY") else "TILLBOOK_E2E_DISPLAY=host but $DISPLAY is empty"
        if not shutil.which("Xvfb"):
            return "Xvfb not found (apt package xvfb)"
        return None

    def start(self, log: Path) -> str:
        if os.environ.get("TILLBOOK_E2E_DISPLAY") == "host":
            self.name = os.environ["DISPLAY"]
            return self.name
        read_fd, write_fd = os.pipe()
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset"],
                pass_fds=(write_fd,),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        os.close(write_fd)
        number = b""
        deadline = time.monotonic() + 20
        with os.fdopen(read_fd, "rb", buffering=0) as r:
            while not number.endswith(b"\n"):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"Xvfb did not start (see {log})")
                chunk = r.read(16)
                if not chunk:
                    raise RuntimeError(f"Xvfb exited before naming its display (see {log})")
                number += chunk
        self.name = ":" + number.decode().strip()
        return self.name

    def stop(self) -> None:
        stop_process(self.proc)

    def screenshot(self, path: Path) -> bool:
        """The whole screen via imagemagick, for when the webview itself cannot answer."""
        if not self.name or not shutil.which("import"):
            return False
        env = dict(os.environ, DISPLAY=self.name)
        r = subprocess.run(["import", "-window", "root", str(path)], env=env, capture_output=True, timeout=30)
        return r.returncode == 0


# ---------------------------------------------------------------------------------------------
# The app under tauri-driver


@dataclass
class App:
    """One running app: its WebDriver session, its data dir and the tauri-driver that
    started it (one per app, so the environment it forwards is this app's)."""

    driver: webdriver.Remote
    data_dir: Path
    xdg_data_home: Path
    workdir: Path
    tauri_driver: subprocess.Popen
    marker: str
    actions: int = 0
    notes: list[str] = field(default_factory=list)

    # -- finding things -------------------------------------------------------------------

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def present(self, css: str) -> bool:
        return len(self.find_all(css)) > 0

    def visible(self, css: str) -> bool:
        try:
            return any(e.is_displayed() for e in self.find_all(css))
        except StaleElementReferenceException:
            return False

    def wait(self, what: str, cond, timeout: float = UI_WAIT, show=None):
        """Waits (bounded) until `cond(app)` is truthy and returns its value. On timeout the
        error says what was awaited and, from `show(app)`, what was seen instead."""
        last_error: Exception | None = None

        def probe(_driver):
            nonlocal last_error
            try:
                return cond(self)
            except (NoSuchElementException, StaleElementReferenceException) as e:
                last_error = e
                return False

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(probe)
        except TimeoutException:
            seen = ""
            if show is not None:
                try:
                    seen = f"; seen: {show(self)!r}"
                except Exception as e:  # the state itself could not be read
                    seen = f"; state unreadable: {e}"
            elif last_error is not None:
                seen = f"; last error: {type(last_error).__name__}"
            raise AssertionError(f"waited {timeout} s for {what}{seen}") from None

    def wait_visible(self, css: str, timeout: float = UI_WAIT):
        self.wait(f"{css} to be visible", lambda a: a.visible(css), timeout)
        return self.find(css)

    def attr(self, css: str, name: str) -> str | None:
        return self.find(css).get_attribute(name)

    def text(self, css: str) -> str:
        """The element's rendered text (innerText: what CSS shows). WebKitWebDriver's Get
        Element Text answers '' for text inside an `overflow: hidden` flex box, visible or not."""
        return (self.find(css).get_property("innerText") or "").strip()

    def wait_text(self, css: str, timeout: float = UI_WAIT) -> str:
        """Waits until css is visible with some text, and returns the text."""
        return self.wait(f"{css} to show text", lambda a: a.visible(css) and a.text(css), timeout)

    def active_id(self) -> str:
        return self.driver.switch_to.active_element.get_attribute("id") or ""

    def wait_focus(self, element_id: str, timeout: float = UI_WAIT) -> None:
        self.wait(f"focus on #{element_id}", lambda a: a.active_id() == element_id, timeout, show=lambda a: f"focus on #{a.active_id()}")

    # -- the keyboard: every call is one cashier action ------------------------------------

    def keys(self, *keys: str) -> None:
        """Sends keys to whatever has focus, as a keyboard or a scanner would: one action."""
        self.actions += 1
        ActionChains(self.driver).send_keys(*keys).perform()

    def type_into(self, element_id: str, *keys: str) -> None:
        """Checks that #element_id has focus, then types there: one action."""
        self.wait_focus(element_id)
        self.keys(*keys)

    def click(self, css: str) -> None:
        self.actions += 1
        self.wait_visible(css).click()

    # -- reading the screen ----------------------------------------------------------------

    def lines(self) -> dict[str, int | str]:
        """The basket as shown: SKU -> quantity. A line whose quantity is in the page but not
        rendered (hidden, zero-sized) maps to 'not shown (N)', so waits fail saying so."""
        out: dict[str, int | str] = {}
        for line in self.find_all('[data-testid^="line-"]'):
            sku = line.get_attribute("data-testid")[len("line-"):]
            qty = line.find_element(By.CSS_SELECTOR, '[data-testid="qty"]')
            shown = (qty.get_property("innerText") or "").strip()
            out[sku] = int(shown) if shown.isdigit() else f"not shown ({(qty.get_property('textContent') or '').strip()})"
        return out

    def wait_lines(self, expected: dict[str, int], timeout: float = UI_WAIT) -> None:
        self.wait(f"basket lines {expected}", lambda a: a.lines() == expected, timeout, show=lambda a: a.lines())

    def total_q(self) -> int:
        return int(self.attr('[data-testid="basket-total"]', "data-total-q"))

    def perf(self) -> dict:
        return self.driver.execute_script("return window.__tillbookPerf || null")

    # -- the CLI on this app's book ----------------------------------------------------------

    def cli(self, *args: str) -> dict:
        return tillbook_cli(self.data_dir, *args)


def tillbook_cli(data_dir: Path, *args: str, check: bool = True) -> dict:
    """Runs `tillbook --data-dir D --json ARGS` and returns its JSON."""
    cmd = [str(cli_binary()), "--data-dir", str(data_dir), "--json", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    try:
        out = json.loads(r.stdout) if r.stdout.strip() else {}
    except json.JSONDecodeError:
        out = {"raw": r.stdout}
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stdout.strip()} {r.stderr.strip()}")
    return out


class Launcher:
    """Starts apps for one test and cleans up after them."""

    def __init__(self, display: Display, workdir: Path) -> None:
        self.display = display
        self.workdir = workdir
        self.apps: list[App] = []

    def launch(self, data_dir: Path | None = None, wait_ready: str | None = "#scan", extra_env: dict | None = None) -> App:
        n = len(self.apps)
        data_dir = (data_dir or self.workdir / f"data{n}").resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        xdg = (self.workdir / f"xdg{n}").resolve()
        xdg.mkdir(parents=True, exist_ok=True)
        marker = f"TILLBOOK_DATA_DIR={data_dir}"
        env = dict(os.environ)
        env.update(
            DISPLAY=self.display.name,
            TILLBOOK_DATA_DIR=str(data_dir),
            XDG_DATA_HOME=str(xdg),
            XDG_CONFIG_HOME=str(xdg / "config"),
            XDG_CACHE_HOME=str(xdg / "cache"),
            # No desktop session under Xvfb: no accessibility bus, no GPU.
            NO_AT_BRIDGE="1",
            WEBKIT_DISABLE_DMABUF_RENDERER="1",
            LIBGL_ALWAYS_SOFTWARE="1",
            RUST_LOG=os.environ.get("RUST_LOG", "info"),
        )
        env.update(extra_env or {})
        port, native_port = free_port(), free_port()
        while native_port == port:
            native_port = free_port()
        td = tauri_driver_binary()
        log = open(self.workdir / f"tauri-driver{n}.log", "ab")
        proc = subprocess.Popen(
            [str(td), "--port", str(port), "--native-port", str(native_port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            preexec_fn=die_with_parent,
        )
        log.close()
        try:
            wait_port(port, 20, proc)
            wait_port(native_port, 20, proc)
            options = ArgOptions()
            options.set_capability("tauri:options", {"application": str(app_binary())})
            config = ClientConfig(remote_server_addr=f"http://127.0.0.1:{port}", timeout=int(START_WAIT))
            driver = webdriver.Remote(command_executor=RemoteConnection(client_config=config), options=options)
        except BaseException:
            stop_process(proc)
            kill_strays(marker)
            raise
        app = App(driver=driver, data_dir=data_dir, xdg_data_home=xdg, workdir=self.workdir, tauri_driver=proc, marker=marker)
        self.apps.append(app)
        driver.set_script_timeout(30)
        if wait_ready:
            app.wait(f"the app to show {wait_ready}", lambda a: a.visible(wait_ready), START_WAIT)
        return app

    def close(self, app: App) -> None:
        try:
            app.driver.quit()
        except Exception:
            pass
        stop_process(app.tauri_driver)
        # Anything the session left behind (the app, its WebKit processes): by PID.
        deadline = time.monotonic() + 5
        while pids_with_env(app.marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        strays = kill_strays(app.marker)
        if strays:
            app.notes.append(f"killed processes left {time.monotonic() - deadline + 5:.1f} s after the session ended: {strays}")
        if app in self.apps:
            self.apps.remove(app)

    def close_all(self) -> None:
        for app in list(self.apps):
            self.close(app)

    def save_artifacts(self, dest: Path) -> list[Path]:
        dest.mkdir(parents=True, exist_ok=True)
        saved = []
        for i, app in enumerate(self.apps):
            shot = dest / f"screenshot{i}.png"
            try:
                if app.driver.save_screenshot(str(shot)):
                    saved.append(shot)
            except Exception:
                pass
            try:
                (dest / f"page{i}.html").write_text(app.driver.page_source)
            except Exception:
                pass
            logs = app.data_dir / "logs"
            if logs.is_dir():
                shutil.copytree(logs, dest / f"app-logs{i}", dirs_exist_ok=True)
        whole = dest / "screen.png"
        if self.display.screenshot(whole):
            saved.append(whole)
        for log in self.workdir.glob("*.log"):
            shutil.copy(log, dest / log.name)
        return saved


# ---------------------------------------------------------------------------------------------
# The server


class Server:
    """tillbook-server on sqlite, started and stopped on the same port and database."""

    def __init__(self, workdir: Path, token: str = "e2e-admin-token") -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = workdir / "server.db"
        self.token = token
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.workdir / f"server{self.starts}.log", "ab")
        self.proc = subprocess.Popen(
            [
                str(server_binary()),
                "--listen", f"127.0.0.1:{self.port}",
                "--database", f"sqlite:{self.db}",
                "--admin-token", self.token,
                "--demo",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        log.close()
        wait_port(self.port, 30, self.proc)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.request("GET", "/v1/health", auth=False)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def request(self, method: str, path: str, body: dict | None = None, auth: bool = True):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        if auth:
            req.add_header("authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise AssertionError(f"{method} {path}: HTTP {e.code} {e.read().decode(errors='replace')}") from None


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
