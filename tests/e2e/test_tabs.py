"""Open tabs: a basket parked under a name and resumed with its lines intact."""

from selenium.webdriver.common.keys import Keys


def test_tab_parked_and_resumed_with_its_lines(app, catalog):
    app.type_into("scan", "ESPRESSO", Keys.ENTER)
    app.wait_lines({"ESPRESSO": 1})
    app.type_into("scan", "2*PAIN_AU_CHOCOLAT", Keys.ENTER)
    lines = {"ESPRESSO": 1, "PAIN_AU_CHOCOLAT": 2}
    app.wait_lines(lines)
    total = app.total_q()
    assert total == catalog["ESPRESSO"]["price_q"] + 2 * catalog["PAIN_AU_CHOCOLAT"]["price_q"]

    # F4 asks for the tab's name; Enter parks it and leaves an empty basket.
    app.keys(Keys.F4)
    app.type_into("tab-name", "mesa-4", Keys.ENTER)
    app.wait("an empty basket after parking", lambda a: a.lines() == {}, show=lambda a: a.lines())
    app.wait_focus("scan")

    # The book holds the tab with its lines (read with the CLI, not through the UI).
    # (The book wants handles shaped KIND:REF; a bare name is kept as `tab:NAME`.)
    sessions = app.cli("session", "list")["sessions"]
    parked = [s for s in sessions if s["handle"] in ("tab:mesa-4", "mesa-4")]
    assert len(parked) == 1 and parked[0]["total_items"] == 3 and parked[0]["total_q"] == total, sessions

    # Another customer meanwhile: the tab must not take this line.
    app.type_into("scan", "LATTE", Keys.ENTER)
    app.wait_lines({"LATTE": 1})

    # F5 lists the tabs; picking one resumes it with its lines and total.
    app.keys(Keys.F5)
    app.click('[data-testid="tab-mesa-4"]')
    app.wait_lines(lines)
    assert app.total_q() == total
    app.wait_focus("scan")
