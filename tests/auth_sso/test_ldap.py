"""Sign-in through a real OpenLDAP directory: the login form and the token endpoint check the
password against slapd, provision the user with the role of their groups, follow changes
of their groups, and local accounts keep working."""
import itertools

from sqlalchemy import select

from biobank.auth.models import User
from biobank.custody.models import CustodyEvent
from biobank.extensions import db

from ..factories import PASSWORD

_names = itertools.count(1)


def _uid(prefix):
    return f"{prefix}{next(_names)}x{id(_names) % 1000}"


def _user(username):
    db.session.expire_all()
    found = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    db.session.commit()
    return found


def test_directory_user_signs_in_on_the_form_and_is_provisioned(ldap_app, slapd, client):
    uid = _uid("aziza")
    slapd.add_user(uid, "Dir-pass-1", mail=f"{uid}@hospital.example", groups=["biobank-managers", "research"])
    assert _user(uid) is None
    response = client.post("/login", data={"username": uid, "password": "Dir-pass-1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    user = _user(uid)
    assert (user.role, user.email, user.active) == ("manager", f"{uid}@hospital.example", True)  # strongest role
    assert client.get("/api/v1/capacity").status_code == 200          # a manager's page, signed in
    event = db.session.execute(select(CustodyEvent).where(CustodyEvent.action == "user.provisioned")).scalar_one()
    assert event.actor == "sso-ldap"

    wrong = ldap_app.test_client().post("/login", data={"username": uid, "password": "not-it"})
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.get_data(as_text=True)


def test_token_endpoint_and_group_changes(ldap_app, slapd):
    uid = _uid("bobur")
    slapd.add_user(uid, "Dir-pass-2", groups=["lab-staff"])
    client = ldap_app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": uid, "password": "Dir-pass-2"})
    assert token.status_code in (200, 201), token.json
    assert _user(uid).role == "technician"

    slapd.add_user(_uid("other"), "x-pass-3", groups=["lab-staff"])   # a group keeps one member
    slapd.leave_group(uid, "lab-staff")
    refused = client.post("/api/v1/auth/token", json={"username": uid, "password": "Dir-pass-2"})
    assert refused.status_code == 403 and refused.json["code"] == "sso_no_role"


def test_local_accounts_keep_working_and_cannot_be_taken_over(ldap_app, slapd, make):
    local = make.user("admin", username=_uid("localadmin"))
    slapd.add_user(local.username, "Directory-pw-9", groups=["biobank-admins"])   # same name in the directory
    client = ldap_app.test_client()
    assert client.post("/login", data={"username": local.username, "password": PASSWORD}).status_code == 302
    other = ldap_app.test_client()
    taken = other.post("/login", data={"username": local.username, "password": "Directory-pw-9"})
    assert taken.status_code == 401                                   # the local password decides
    assert not _user(local.username).password_hash.startswith("sso:")             # still a local account


def test_unknown_users_and_a_directory_that_is_down(ldap_app, slapd, client):
    assert client.post("/login", data={"username": "nobody-here", "password": "x"}).status_code == 401
    assert client.post("/login", data={"username": "*)(uid=*", "password": "x"}).status_code == 401   # filter escaped
    ldap_app.config["BIOBANK_LDAP_URL"] = "ldap://127.0.0.1:9"           # nothing listens there
    down = ldap_app.test_client().post("/api/v1/auth/token", json={"username": "someone", "password": "x"})
    assert down.status_code == 503 and down.json["code"] == "directory_unavailable"
