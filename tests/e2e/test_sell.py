"""Selling by keyboard and scanner, on the app's first-start demo till."""

from selenium.webdriver.common.keys import Keys


def money_text(q: int) -> str:
    """The digits a pt-BR amount shows, e.g. 3100 -> '31,00' (thousands with '.')."""
    units = f"{q // 100:,}".replace(",", ".")
    return f"{units},{q % 100:02d}"


def barcode(catalog: dict, sku: str) -> str:
    return catalog[sku]["barcodes"][0]


def test_cash_sale_by_keyboard_with_change(app, catalog):
    """Three items, cash, change due: five actions at most."""
    # What a scanner sends: two SKUs and one barcode, each followed by Enter.
    scans = [("ESPRESSO", "ESPRESSO"), ("CROISSANT", "CROISSANT"), (barcode(catalog, "LATTE"), "LATTE")]
    total = sum(catalog[sku]["price_q"] for _, sku in scans)
    tendered = (total // 5000 + 1) * 5000  # the next R$ 50,00 note above the total
    orders_before = len(app.cli("order", "list")["orders"])

    app.wait_focus("scan")
    app.actions = 0
    expected: dict[str, int] = {}
    for code, sku in scans:
        app.type_into("scan", code, Keys.ENTER)  # 1 action each
        expected[sku] = expected.get(sku, 0) + 1
        app.wait_lines(expected)
    assert app.total_q() == total, "basket total differs from the catalog prices"

    app.keys(Keys.F12)  # 1 action
    app.wait_visible('[data-testid="pay-screen"]')
    assert int(app.attr('[data-testid="amount-due"]', "data-amount-q")) == total
    app.type_into("tender-amount", str(tendered // 100), Keys.ENTER)  # 1 action: "50" + Enter

    change = app.wait_visible('[data-testid="change-due"]')
    assert int(change.get_attribute("data-change-q")) == tendered - total
    shown = app.text('[data-testid="change-due"]')
    assert money_text(tendered - total) in shown, f"change shown as {shown!r}"
    ref = app.wait_text('[data-testid="receipt-ref"]')
    assert ref, "the receipt shows no order reference"
    assert app.actions <= 5, f"the sale took {app.actions} actions"

    # The book agrees: one new order, paid, for that total.
    orders = app.cli("order", "list")["orders"]
    assert len(orders) == orders_before + 1
    mine = [o for o in orders if o["ref"] == ref]
    assert mine and mine[0]["payment_status"] == "paid" and mine[0]["total_q"] == total, mine

    # Enter on the receipt starts the next sale: an empty basket, the scan field focused.
    app.keys(Keys.ENTER)
    app.wait('an empty basket after Enter on the receipt', lambda a: a.lines() == {} and not a.visible('[data-testid="receipt"]'), show=lambda a: a.lines())
    app.wait_focus("scan")


def test_quantity_prefix_adds_that_many(app, catalog):
    """`3*CODE` then Enter adds three units, by SKU or by barcode."""
    app.type_into("scan", "3*CAPPUCCINO", Keys.ENTER)
    app.wait_lines({"CAPPUCCINO": 3})
    assert app.total_q() == 3 * catalog["CAPPUCCINO"]["price_q"]

    app.type_into("scan", "2*" + barcode(catalog, "CROISSANT"), Keys.ENTER)
    app.wait_lines({"CAPPUCCINO": 3, "CROISSANT": 2})
    assert app.total_q() == 3 * catalog["CAPPUCCINO"]["price_q"] + 2 * catalog["CROISSANT"]["price_q"]

    # The same code again adds to its line.
    app.type_into("scan", "3*CAPPUCCINO", Keys.ENTER)
    app.wait_lines({"CAPPUCCINO": 6, "CROISSANT": 2})


def test_unknown_barcode_is_a_readable_message_and_changes_nothing(app, catalog):
    app.type_into("scan", "ESPRESSO", Keys.ENTER)
    app.wait_lines({"ESPRESSO": 1})
    total = app.total_q()

    unknown = "7899999999999"
    assert all(unknown not in p["barcodes"] and unknown != sku for sku, p in catalog.items())
    app.type_into("scan", unknown, Keys.ENTER)
    msg = app.wait_visible('[data-testid="message"]')
    app.wait("the message to name the unknown code", lambda a: unknown in a.text('[data-testid="message"]'), show=lambda a: a.text('[data-testid="message"]'))
    assert msg.get_attribute("data-code") == "unknown_product"
    text = app.text('[data-testid="message"]')
    for raw in ("{", "undefined", "[object", "Error:", "unknown_product"):
        assert raw not in text, f"the message shows {raw!r}: {text!r}"

    # Nothing changed, and the next scan works at once.
    assert app.lines() == {"ESPRESSO": 1}
    assert app.total_q() == total
    app.wait_focus("scan")
    app.type_into("scan", "LATTE", Keys.ENTER)
    app.wait_lines({"ESPRESSO": 1, "LATTE": 1})
