"""Taking payment: a card declined then approved on the same order, and a split tender."""

from selenium.webdriver.common.keys import Keys

DECLINED = "4000000000000002"
APPROVED = "4242424242424242"


def order(app, ref: str) -> dict:
    return app.cli("order", "show", ref)


def payments_of(detail: dict) -> list[tuple]:
    """(method, outcome, amount_q, decline_code) of every payment attempt, in order."""
    return [(p["method"], p["outcome"], p["amount_q"], p["decline_code"]) for p in detail["payments"]]


def test_card_declined_then_approved_on_the_same_order(app, catalog):
    orders_before = {o["ref"] for o in app.cli("order", "list")["orders"]}
    app.type_into("scan", "CARROT_CAKE", Keys.ENTER)
    app.wait_lines({"CARROT_CAKE": 1})
    total = catalog["CARROT_CAKE"]["price_q"]
    app.keys(Keys.F12)
    app.wait_visible('[data-testid="pay-screen"]')

    app.keys(Keys.F2)  # F2 focuses the card field
    app.type_into("card-number", DECLINED, Keys.ENTER)
    err = app.wait_visible('[data-testid="pay-error"]')
    app.wait("the decline in words", lambda a: "declin" in a.text('[data-testid="pay-error"]').lower(), show=lambda a: a.text('[data-testid="pay-error"]'))
    assert err.get_attribute("data-code") == "card_declined"
    assert not app.visible('[data-testid="receipt"]'), "a declined card reached the receipt"
    assert int(app.attr('[data-testid="amount-due"]', "data-amount-q")) == total, "a decline changed the amount due"

    # Payable again: the same field, a good card (the old number removed with Backspace).
    app.keys(Keys.F2)
    app.type_into("card-number", Keys.END, Keys.BACKSPACE * 24, APPROVED, Keys.ENTER)
    ref = app.wait_text('[data-testid="receipt-ref"]')
    assert not app.present('[data-testid="pay-error"]') or not app.text('[data-testid="pay-error"]'), "the old decline is still shown after the approval"

    # One order only, paid by card, with the declined attempt recorded against it.
    new = {o["ref"] for o in app.cli("order", "list")["orders"]} - orders_before
    assert new == {ref}, f"expected exactly one new order {ref}, got {new}"
    detail = order(app, ref)
    assert detail["payment_status"] == "paid" and detail["paid_q"] == total, detail
    assert payments_of(detail) == [
        ("card", "declined", total, "card_declined"),
        ("card", "approved", total, None),
    ]


def test_split_tender_pix_then_card(app, catalog):
    app.type_into("scan", "LATTE", Keys.ENTER)
    app.wait_lines({"LATTE": 1})
    app.type_into("scan", "CROISSANT", Keys.ENTER)
    app.wait_lines({"LATTE": 1, "CROISSANT": 1})
    total = catalog["LATTE"]["price_q"] + catalog["CROISSANT"]["price_q"]
    part = 500
    app.keys(Keys.F12)
    app.wait_visible('[data-testid="pay-screen"]')
    assert int(app.attr('[data-testid="amount-due"]', "data-amount-q")) == total

    # R$ 5,00 by Pix, typed in the locale's format.
    app.type_into("tender-amount", "5,00")
    app.click('[data-testid="method-pix"]')
    app.wait(
        "the amount due to drop by the Pix part",
        lambda a: int(a.attr('[data-testid="amount-due"]', "data-amount-q")) == total - part,
        show=lambda a: a.attr('[data-testid="amount-due"]', "data-amount-q"),
    )
    assert not app.visible('[data-testid="receipt"]'), "a part payment reached the receipt"

    # The rest by card.
    app.keys(Keys.F2)
    app.type_into("card-number", APPROVED, Keys.ENTER)
    ref = app.wait_text('[data-testid="receipt-ref"]')

    detail = order(app, ref)
    assert payments_of(detail) == [("pix", "approved", part, None), ("card", "approved", total - part, None)]
    assert detail["payment_status"] == "paid" and detail["paid_q"] == total, detail
