"""A sale made while the server is down reaches it once it is back."""

import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from harness import tillbook_cli

# The sync task backs off to at most 5 s while offline; allow several rounds and a cold server.
SYNC_WAIT = 45


def badge(app) -> tuple[str | None, str | None]:
    b = app.find('[data-testid="sync-badge"]')
    return b.get_attribute("data-online"), b.get_attribute("data-pending")


def test_sale_offline_then_synced_when_the_server_is_back(launcher, server, tmp_path):
    # The back office names a till and hands out its one-time code.
    server.start()
    created = server.request("POST", "/v1/admin/terminals", {"name": "Counter 1"})
    code = created["enrollment_code"]

    # The till's book: a real (not demo) book, enrolled, with the server's catalog pulled.
    book = tmp_path / "till"
    tillbook_cli(book, "init", "--terminal-code", "T01", "--currency", "BRL", "--locale", "pt-BR")
    tillbook_cli(book, "enroll", "--server", server.url, "--code", code)
    tillbook_cli(book, "sync", "run")
    products = {p["sku"]: p for p in tillbook_cli(book, "catalog", "list")["products"]}
    assert "ESPRESSO" in products, "the server's demo catalog did not reach the till"
    before = {o["ref"] for o in server.request("GET", "/v1/admin/orders?store=main")["orders"]}

    server.stop()

    # No open shift on a real till: Sell asks for the float first (one field, Enter).
    app = launcher.launch(book, wait_ready='[data-testid="float-prompt"]')
    app.type_into("float", "200", Keys.ENTER)
    app.wait("the float prompt to close", lambda a: not a.visible('[data-testid="float-prompt"]'))
    shift = tillbook_cli(book, "shift", "show")["figures"]
    assert shift["float_q"] == 20000, f"the shift was not opened with R$ 200,00: {shift}"

    app.type_into("scan", "2*ESPRESSO", Keys.ENTER)
    app.wait_lines({"ESPRESSO": 2})
    app.keys(Keys.F12)
    app.wait_visible('[data-testid="pay-screen"]')
    app.type_into("tender-amount", Keys.ENTER)  # Enter on an empty amount: exact cash
    ref = app.wait_text('[data-testid="receipt-ref"]')
    assert ref

    def order_state(a):
        return a.driver.find_element(By.CSS_SELECTOR, '[data-testid="order-sync"]').get_attribute("data-state")

    # Offline, with the sale waiting.
    app.wait(
        "the badge to show offline with the sale pending",
        lambda a: badge(a)[0] == "false" and int(badge(a)[1] or 0) >= 1,
        timeout=SYNC_WAIT,
        show=badge,
    )
    assert order_state(app) in ("pending", "sent"), "the receipt should say the sale waits on this till"

    server.start()
    started = time.monotonic()
    app.wait("the badge to reach 0 pending", lambda a: badge(a) == ("true", "0"), timeout=SYNC_WAIT, show=badge)
    print(f"synced {time.monotonic() - started:.1f} s after the server came back")
    # The receipt screen follows its order to the back office (per-order sync state).
    app.wait("the receipt to say the order reached the back office", lambda a: order_state(a) == "synced", show=order_state)

    orders = server.request("GET", "/v1/admin/orders?store=main")["orders"]
    mine = [o for o in orders if o["ref"] == ref]
    assert mine, f"{ref} is not in the admin API's orders: {[o['ref'] for o in orders]}"
    assert ref not in before
    assert mine[0]["total_q"] == 2 * products["ESPRESSO"]["price_q"]
    assert mine[0]["terminal_code"] == "T01"
