"""User administration, password rules, one-time reset codes and throttling that slows rather
than locks: services through the API, on both backends."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from biobank.auth import accounts
from biobank.auth.models import LoginFailure, PasswordReset, User
from biobank.auth.passwords import check_password
from biobank.core.errors import InvalidInput
from biobank.core.time import utcnow
from biobank.custody import service as custody
from biobank.custody.models import CustodyEvent
from biobank.extensions import db

from ..factories import PASSWORD


def _actions(username):
    return [e.action for e in db.session.execute(select(CustodyEvent).where(
        CustodyEvent.subject_type == "user", CustodyEvent.subject == username).order_by(CustodyEvent.seq)).scalars()]


def _token(client, username, password, address="192.0.2.10"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_overrides={"REMOTE_ADDR": address})


@pytest.mark.parametrize("password", ["short-pass1", "password1234", "Password2025!", "qwertyuiop123",
                                      "aaaaaaaaaaaaaaa", "1q2w3e4r5t6y"])
def test_short_and_common_passwords_are_refused(password):
    with pytest.raises(InvalidInput) as refused:
        check_password(password)
    assert refused.value.code == "weak_password"


def test_a_long_uncommon_password_is_accepted():
    assert check_password("ink-kettle-orbit-7") == "ink-kettle-orbit-7"


def test_admin_lists_searches_and_pages_users(api, make):
    for name in ("lab-anna", "lab-bobur", "lab-dilnoza", "store-kamola"):
        make.user("technician", username=name)
    admin = api("admin")
    page = admin.get("/users?q=LAB-&per_page=2").json
    assert page["total"] == 3 and page["pages"] == 2
    assert [u["username"] for u in page["items"]] == ["lab-anna", "lab-bobur"]
    second = admin.get("/users?q=lab-&per_page=2&page=2").json
    assert [u["username"] for u in second["items"]] == ["lab-dilnoza"]
    assert "password_hash" not in page["items"][0]
    assert admin.get("/users?q=%25").json["total"] == 0  # a percent sign is searched for, not a wildcard
    assert api("manager").get("/users").status_code == 403


def test_create_user_with_a_password_and_without_one(api, app):
    admin = api("admin")
    weak = admin.post("/users", json={"username": "nodira", "role": "technician", "password": "password123"})
    assert weak.status_code == 422 and weak.json["code"] == "weak_password"
    assert db.session.execute(select(User).where(User.username == "nodira")).first() is None
    made = admin.post("/users", json={"username": "nodira", "role": "technician", "password": "cedar-lantern-42"})
    assert made.status_code == 201 and made.json["role"] == "technician" and made.json.get("reset") is None
    assert _token(app.test_client(), "nodira", "cedar-lantern-42").status_code == 200
    again = admin.post("/users", json={"username": "nodira", "role": "manager"})
    assert again.status_code == 409 and again.json["code"] == "duplicate_user"

    fresh = admin.post("/users", json={"username": "timur", "role": "researcher"})
    assert fresh.status_code == 201
    code, url = fresh.json["reset"]["code"], fresh.json["reset"]["url"]
    assert code.replace("-", "") not in str(db.session.execute(select(PasswordReset.code_hash)).all())
    assert url.endswith("/reset-password/" + code)
    client = app.test_client()
    assert client.post("/api/v1/auth/password-reset", json={"code": code.lower(), "new_password": "spruce-meadow-91"}
                       ).status_code == 204
    assert _token(client, "timur", "spruce-meadow-91").status_code == 200
    used = client.post("/api/v1/auth/password-reset", json={"code": code, "new_password": "another-pass-991"})
    assert used.status_code == 404 and used.json["code"] == "invalid_reset_code"
    assert _actions("timur") == ["user.created", "user.password_reset_issued", "user.password_reset"]


def test_change_role_disable_enable_are_custody_events(api, make, app):
    make.user("technician", username="zarina")
    admin = api("admin")
    client = admin.client
    headers = admin.headers
    promoted = client.patch("/api/v1/users/zarina", json={"role": "manager"}, headers=headers)
    assert promoted.status_code == 200 and promoted.json["role"] == "manager"
    token = _token(app.test_client(), "zarina", PASSWORD).json["token"]
    disabled = client.patch("/api/v1/users/zarina", json={"active": False}, headers=headers)
    assert disabled.status_code == 200 and disabled.json["active"] is False
    # logged out everywhere: the token is dead, and the password no longer logs in
    assert app.test_client().get("/api/v1/samples", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _token(app.test_client(), "zarina", PASSWORD, "192.0.2.50").status_code == 401
    assert client.patch("/api/v1/users/zarina", json={"active": True}, headers=headers).status_code == 200
    assert _token(app.test_client(), "zarina", PASSWORD, "192.0.2.51").status_code == 200
    assert _actions("zarina") == ["user.created", "user.role_changed", "user.disabled", "user.enabled"]
    assert client.patch("/api/v1/users/nobody", json={"active": False}, headers=headers).status_code == 404
    bad = client.patch("/api/v1/users/zarina", json={"role": "wizard"}, headers=headers)
    assert bad.status_code == 422
    assert custody.verify().ok


def test_the_last_active_admin_can_be_neither_disabled_nor_demoted(api, make):
    admin = api("admin")   # the first admin user in this database
    only = db.session.execute(select(User).where(User.role == "admin")).scalar_one()
    for change in ({"active": False}, {"role": "manager"}):
        refused = admin.client.patch(f"/api/v1/users/{only.username}", json=change, headers=admin.headers)
        assert refused.status_code == 409 and refused.json["code"] == "last_admin", change
    second = make.user("admin", username="second-admin")
    assert admin.client.patch(f"/api/v1/users/{only.username}", json={"role": "manager"},
                              headers=admin.headers).status_code == 200
    db.session.rollback()
    # now `second` is the last one
    with pytest.raises(Exception) as refused:
        accounts.update_user(make.admin, second.username, active=False)
    assert getattr(refused.value, "code", None) == "last_admin"
    db.session.rollback()


def test_a_reset_code_expires_and_a_newer_one_replaces_it(api, make, app):
    make.user("technician", username="olim")
    admin = api("admin")
    first = admin.post("/users/olim/password-reset").json["code"]
    second = admin.post("/users/olim/password-reset").json["code"]
    client = app.test_client()
    replaced = client.post("/api/v1/auth/password-reset", json={"code": first, "new_password": "walnut-river-33"})
    assert replaced.status_code == 404
    db.session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    expired = client.post("/api/v1/auth/password-reset", json={"code": second, "new_password": "walnut-river-33"})
    assert expired.status_code == 404 and expired.json["code"] == "invalid_reset_code"
    assert _token(client, "olim", PASSWORD).status_code == 200  # the old password still works


def test_users_change_their_own_password_and_every_token_ends(app, make):
    make.user("researcher", username="malika")
    client = app.test_client()
    token = _token(client, "malika", PASSWORD).json["token"]
    other = _token(client, "malika", PASSWORD).json["token"]
    auth = {"Authorization": f"Bearer {token}"}
    wrong = client.post("/api/v1/auth/password", json={"current_password": "not-it-at-all",
                                                       "new_password": "birch-canyon-58"}, headers=auth)
    assert wrong.status_code == 422 and wrong.json["code"] == "wrong_password"
    weak = client.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "letmein"},
                       headers=auth)
    assert weak.status_code == 422 and weak.json["code"] == "weak_password"
    assert client.post("/api/v1/auth/password", json={"current_password": PASSWORD,
                                                      "new_password": "birch-canyon-58"}, headers=auth).status_code == 204
    for old in (token, other):
        assert client.get("/api/v1/requests", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert _token(client, "malika", PASSWORD).status_code == 401
    assert _token(client, "malika", "birch-canyon-58").status_code == 200
    assert _actions("malika") == ["user.created", "user.password_changed"]


def test_guessing_an_admins_password_slows_the_account_but_never_locks_its_owner_out(app, make):
    admin = make.user("admin", username="chief").username
    client = app.test_client()
    for _ in range(5):
        assert _token(client, admin, "wrong-password", "203.0.113.9").status_code == 401
    # the guessing address is stopped for this account ...
    stopped = _token(client, admin, PASSWORD, "203.0.113.9")
    assert stopped.status_code == 429 and stopped.json["code"] == "too_many_attempts"
    # ... elsewhere the account is only slowed: a short wait, never the whole window
    slowed = _token(client, admin, PASSWORD, "192.0.2.77")
    assert slowed.status_code == 429 and 1 <= int(slowed.headers["Retry-After"]) <= 2
    db.session.execute(update(LoginFailure).values(at=LoginFailure.at - timedelta(seconds=3)))
    db.session.commit()
    assert _token(client, admin, PASSWORD, "192.0.2.77").status_code == 200


def test_many_addresses_guessing_one_account_wait_at_most_a_minute(app, make):
    admin = make.user("admin", username="chief2").username
    client = app.test_client()
    now = utcnow()
    db.session.add_all([LoginFailure(username=admin, address=f"198.51.100.{i}", at=now - timedelta(seconds=1))
                        for i in range(40)])
    db.session.commit()
    slowed = _token(client, admin, PASSWORD, "192.0.2.99")
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) <= 60
    db.session.execute(update(LoginFailure).values(at=LoginFailure.at - timedelta(seconds=61)))
    db.session.commit()
    assert _token(client, admin, PASSWORD, "192.0.2.99").status_code == 200
