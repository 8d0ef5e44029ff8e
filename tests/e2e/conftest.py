"""Fixtures of the e2e suite: one Xvfb per run, one tauri-driver and one app (with its own
data dir) per launch, artifacts saved on failure into target/e2e-artifacts/TEST/.

A test whose prerequisites are missing (no Xvfb, no tauri-driver, no WebKitWebDriver, no
built app) is reported SKIPPED with the reason, never passed; scripts/e2e.sh fails the run
when anything was skipped under CI=true.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import harness
from harness import ARTIFACTS, Display, Launcher, Server


def _missing_for_app() -> str | None:
    why = Display.unavailable()
    if why:
        return why
    if harness.tauri_driver_binary() is None:
        return "tauri-driver not found (cargo install tauri-driver --locked --version '^2')"
    if not shutil.which("WebKitWebDriver"):
        return "WebKitWebDriver not found (apt package webkit2gtk-driver)"
    if not harness.app_binary().exists():
        return f"the app is not built: {harness.app_binary()} (cargo build)"
    if not harness.cli_binary().exists():
        return f"the CLI is not built: {harness.cli_binary()}"
    return None


def pytest_configure(config):
    harness.stop_on_sigterm()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="session")
def display(tmp_path_factory):
    why = _missing_for_app()
    if why:
        pytest.skip(why)
    d = Display()
    d.start(tmp_path_factory.mktemp("xvfb") / "xvfb.log")
    yield d
    d.stop()


@pytest.fixture
def launcher(request, display, tmp_path):
    """Launches apps for this test; `launcher.launch()` gives a fresh data dir each time."""
    lx = Launcher(display, tmp_path)
    yield lx
    failed = any(getattr(request.node, "rep_" + w, None) is not None and getattr(request.node, "rep_" + w).failed for w in ("setup", "call"))
    if failed:
        dest = ARTIFACTS / request.node.name
        shutil.rmtree(dest, ignore_errors=True)
        saved = lx.save_artifacts(dest)
        for p in sorted(tmp_path.glob("server*.log")):
            shutil.copy(p, dest / p.name)
        print(f"\nartifacts of {request.node.name}: {dest} ({', '.join(p.name for p in saved) or 'no screenshot'})")
    notes = [n for a in list(lx.apps) for n in a.notes]
    lx.close_all()
    for note in notes:
        print(f"\n{request.node.name}: {note}")


@pytest.fixture
def app(launcher):
    """The app on a fresh data dir: first start makes a demo till that sells at once."""
    return launcher.launch()


@pytest.fixture
def server(tmp_path):
    if not harness.server_binary().exists():
        pytest.skip(f"the server is not built: {harness.server_binary()}")
    s = Server(tmp_path)
    yield s
    s.stop()


@pytest.fixture
def catalog(app) -> dict[str, dict]:
    """The app's catalog as the book holds it (read with the CLI, not through the UI)."""
    out = app.cli("catalog", "list")
    items = out.get("products") or out.get("items") or out
    return {p["sku"]: p for p in items}
