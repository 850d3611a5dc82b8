"""A librarian changes their own password (ASVS 2.1.5, 2.1.6): the current password first, then
every other session of the account ends and this browser carries on with a new one."""

from __future__ import annotations

from tests.web.client import Client
from tests.web.conftest import STAFF_PASSWORD

NEW_PASSWORD = "jagung manis di ladang"


def test_a_librarian_changes_their_own_password_with_the_current_one(workspace):
    workspace.set_up()
    workspace.add_user("budi", "librarian")
    here, elsewhere = workspace.sign_in("budi"), workspace.sign_in("budi")
    here.get("/?lang=en")  # (the messages below are new: their Indonesian comes with the next catalogue)
    assert 'href="/kelola/sandi"' in here.get("/kelola/").body

    new = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    wrong = here.post("/kelola/sandi", {"current": "bukan sandi saya", **new})
    assert wrong.status == 200 and "This is not your current password." in wrong.text
    weak = here.post("/kelola/sandi", {"current": STAFF_PASSWORD, "password": "pendek", "confirm": "pendek"})
    assert weak.status == 200 and "12" in weak.text
    old_token = here.cookie("staff_session")

    changed = here.post("/kelola/sandi", {"current": STAFF_PASSWORD, **new})
    assert changed.status == 302 and changed.location == "/kelola/"
    assert here.cookie("staff_session") not in (None, old_token)
    assert "Your password was changed." in here.get("/kelola/").text
    assert elsewhere.get("/kelola/").location.startswith("/kelola/masuk"), "the other session goes on"
    assert Client(workspace.base).post("/kelola/masuk", {"username": "budi", "password": STAFF_PASSWORD}).status == 401
    workspace.sign_in("budi", NEW_PASSWORD)
