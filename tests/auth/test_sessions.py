"""Logging out ends the session on the server: a copied session cookie stops working after logout,
after a password change and when an admin disables the account."""
from biobank.auth import accounts
from biobank.extensions import db

from ..factories import PASSWORD


def _log_in(app, username, password=PASSWORD):
    client = app.test_client()
    answer = client.post("/login", data={"username": username, "password": password})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def _copy(app, client):
    """A second browser holding a copy of the first one's session cookie."""
    cookie = client.get_cookie("session")
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _logged_in(client) -> bool:
    return client.get("/api/v1/samples").status_code == 200


def test_a_copied_cookie_stops_working_after_logout(app, make):
    user = make.user("technician")
    browser = _log_in(app, user.username)
    copy = _copy(app, browser)
    assert _logged_in(browser) and _logged_in(copy)
    assert browser.post("/logout").status_code == 302
    assert not _logged_in(copy)
    assert copy.get("/scan").status_code == 302   # the page sends it to the login form
    assert not _logged_in(browser)


def test_logging_out_on_one_workstation_keeps_the_other_logged_in(app, make):
    user = make.user("technician")
    bench, office = _log_in(app, user.username), _log_in(app, user.username)
    bench.post("/logout")
    assert _logged_in(office)


def test_a_password_change_ends_every_other_session_but_this_one(app, make):
    user = make.user("manager")
    here, elsewhere = _log_in(app, user.username), _log_in(app, user.username)
    copy = _copy(app, elsewhere)
    changed = here.post("/account", data={"current_password": PASSWORD, "new_password": "quartz-pelican-77",
                                          "repeat": "quartz-pelican-77"})
    assert changed.status_code == 302
    assert _logged_in(here)
    assert not _logged_in(elsewhere) and not _logged_in(copy)


def test_disabling_a_user_ends_their_sessions(app, make):
    user = make.user("technician")
    browser = _log_in(app, user.username)
    accounts.update_user(make.admin, user.username, active=False)
    db.session.commit()
    assert not _logged_in(browser)
    accounts.update_user(make.admin, user.username, active=True)
    db.session.commit()
    assert not _logged_in(browser)      # enabling again does not bring the old session back


def test_a_password_reset_ends_every_session(app, make):
    user = make.user("researcher")
    browser = _log_in(app, user.username)
    code, _ = accounts.issue_reset(make.admin, user.username)
    db.session.commit()
    assert app.test_client().post(f"/reset-password/{code}", data={
        "code": code, "new_password": "harbor-violet-12", "repeat": "harbor-violet-12"}).status_code == 302
    assert not _logged_in(browser)
    assert _logged_in(_log_in(app, user.username, "harbor-violet-12"))
