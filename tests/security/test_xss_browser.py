"""The corpus's XSS book in a real headless Chromium: on every page that shows its title, no
script of it runs (no dialog opens, nothing is fetched from elsewhere) and the title reads as
the text it is."""

from __future__ import annotations

from tests.security.conftest import XSS_TITLE

PAGES = ["/buku/{id}", "/cari?q=alert", "/", "/kiosk/buku/{id}", "/baca/{id}/1", "/opds/buku/{id}"]


def test_no_script_of_the_hostile_book_runs_in_a_browser(hostile_site, page):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    record_id = hostile_site.library.ids["xss"]
    for template in PAGES:
        path = template.format(id=record_id)
        response = page.goto(hostile_site.base + path)
        assert response.status == 200, path
        page.wait_for_load_state("load")
        if not path.startswith("/opds"):
            assert XSS_TITLE in page.locator("body").inner_text(), f"{path} does not show the title as text"
            assert page.locator("img[src='x']").count() == 0, f"{path} made the title's <img> an element"
    assert dialogs == [], f"a script of the book ran: {dialogs}"
    assert page.requested_hosts == {hostile_site.base.split("/")[2]}, "a page loaded something from another host"
