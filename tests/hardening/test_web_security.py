"""Web security: CSRF on every form, cookie flags, HTTPS behind a proxy, password hashing,
login throttling shared through the database, token revocation, Content-Security-Policy."""
import re
from datetime import timedelta

from sqlalchemy import update

from biobank import create_app
from biobank.auth.models import LoginFailure, User
from biobank.core.time import utcnow
from biobank.extensions import db

from ..factories import PASSWORD
from .conftest import idle, samples


def _csrf_app(database_url, monkeypatch=None, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})


def _form_token(client, path="/login"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _login(client, username, password=PASSWORD, **kw):
    idle()
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": _form_token(client)}, **kw)


def _post_routes(app):
    """Every browser form endpoint (POST routes outside the API)."""
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.rule.startswith("/api/"):
            yield rule


def test_every_form_post_without_a_csrf_token_is_refused_and_changes_nothing(app, database_url, make, box):
    make.sample("CSRF-1", box=box, position="A1")
    admin, box_id = make.user("admin").username, box.id
    idle()
    protected = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    client = protected.test_client()
    assert _login(client, admin).status_code == 302
    values = {"barcode": "CSRF-1", "container_id": box_id, "request_id": 1, "position": "B2", "chart": "x",
              "fmt": "png"}
    rules = list(_post_routes(protected))
    assert len(rules) >= 15  # login, logout, sample actions, requests, layout, reconcile ...
    before = (samples(), _events())
    for rule in rules:
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:[^:>]+:)?{name}>", str(values.get(name, 1)), url)
        idle()
        response = client.post(url, data={"reason": "csrf probe", "thawed": "y", "container_id": box_id,
                                          "position": "C3", "username": admin, "password": PASSWORD})
        assert response.status_code == 400, (rule.rule, response.status_code)
        assert "CSRF" in response.get_data(as_text=True) or "csrf" in response.get_data(as_text=True)
    db.session.rollback()
    assert (samples(), _events()) == before
    # the same client with the form's token gets through: the refusal was the missing token
    idle()
    token = _form_token(client, "/samples/CSRF-1/checkout")
    done = client.post("/samples/CSRF-1/checkout", data={"reason": "assay", "csrf_token": token})
    assert done.status_code in (200, 302, 303)
    db.session.rollback()
    assert _events() == before[1] + 1


def _events():
    from .conftest import events
    return events()


def test_api_calls_riding_on_the_session_cookie_need_the_csrf_header(database_url, make, box):
    tech, box_id = make.user("technician").username, box.id
    idle()
    protected = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    client = protected.test_client()
    assert _login(client, tech).status_code == 302
    body = {"barcode": "CK-1", "sample_type": "plasma", "location": {"container_id": box_id, "position": "A1"}}
    refused = client.post("/api/v1/samples", json=body)
    assert refused.status_code == 400 and refused.json["code"] == "csrf_failed"
    token = _form_token(client, "/samples/new")
    accepted = client.post("/api/v1/samples", json=body, headers={"X-CSRFToken": token})
    assert accepted.status_code == 201, accepted.json


def test_session_cookie_is_httponly_and_samesite_and_secure_only_over_https(database_url, make, monkeypatch):
    username = make.user("technician").username
    idle()
    plain = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url}).test_client()
    cookie = _login(plain, username).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie

    monkeypatch.setenv("BIOBANK_HTTPS", "1")
    monkeypatch.setenv("BIOBANK_BEHIND_PROXY", "1")
    https_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    client = https_app.test_client()
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "biobank.example.org"}
    page = client.get("/login", headers=proxied)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/login", headers=dict(proxied, Referer="https://biobank.example.org/login"),
                           data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    # without the proxy's word the request is plain http: no HSTS
    assert "Strict-Transport-Security" not in client.get("/login", base_url="http://localhost").headers


def test_passwords_are_stored_with_a_memory_hard_kdf(make):
    user = make.user("technician")
    stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("scrypt:") and PASSWORD not in stored


# -- login throttling --------------------------------------------------------------------------
def _token(client, username, password, address="192.0.2.10"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_overrides={"REMOTE_ADDR": address})


def test_five_failures_stop_that_address_for_the_window_on_every_worker(app, database_url, make):
    victim, other = make.user("manager").username, make.user("technician").username
    client = app.test_client()
    for _ in range(5):
        wrong = _token(client, victim, "wrong-password")
        assert wrong.status_code == 401 and wrong.json["code"] == "invalid_credentials"
    locked = _token(client, victim, PASSWORD)
    assert locked.status_code == 429 and locked.json["code"] == "too_many_attempts"
    assert "token" not in locked.json and int(locked.headers["Retry-After"]) > 0
    # a second worker (another app on the same database) sees the same count
    idle()
    second_worker = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url}).test_client()
    assert _token(second_worker, victim, PASSWORD).status_code == 429
    # elsewhere the account is only slowed (tests/auth/test_accounts.py), never locked for the window
    # other accounts are not affected
    assert _token(client, other, PASSWORD).status_code == 200
    # the window passes: the account opens again, and a success clears its failures
    db.session.execute(update(LoginFailure).values(at=utcnow() - timedelta(minutes=16)))
    db.session.commit()
    assert _token(client, victim, PASSWORD).status_code == 200


def test_one_address_guessing_many_accounts_is_throttled(app, make):
    real = make.user("technician").username
    client = app.test_client()
    for i in range(20):
        assert _token(client, f"guess{i}", "wrong-password", "203.0.113.5").status_code == 401
    blocked = _token(client, real, PASSWORD, "203.0.113.5")
    assert blocked.status_code == 429 and blocked.json["code"] == "too_many_attempts"
    assert _token(client, real, PASSWORD, "203.0.113.6").status_code == 200


def test_the_login_form_is_throttled_too(database_url, make):
    username = make.user("technician").username
    idle()
    client = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                         "WTF_CSRF_ENABLED": False}).test_client()
    for _ in range(5):
        assert client.post("/login", data={"username": username, "password": "nope-nope"}).status_code == 401
    response = client.post("/login", data={"username": username, "password": PASSWORD},
                           follow_redirects=True)
    assert "Too many failed logins" in response.get_data(as_text=True)
    assert client.get("/api/v1/samples").status_code == 401  # not logged in


def test_behind_a_proxy_the_throttle_counts_the_client_address(database_url, make, monkeypatch):
    monkeypatch.setenv("BIOBANK_BEHIND_PROXY", "1")
    user = make.user("technician")
    username = user.username
    idle()
    client = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url}).test_client()
    client.post("/api/v1/auth/token", json={"username": username, "password": "wrong-password"},
                headers={"X-Forwarded-For": "203.0.113.77"}, environ_overrides={"REMOTE_ADDR": "10.0.0.1"})
    db.session.rollback()
    assert [f.address for f in db.session.query(LoginFailure).all()] == ["203.0.113.77"]


# -- tokens ------------------------------------------------------------------------------------
def test_a_revoked_token_answers_401_and_other_tokens_keep_working(app, make):
    username = make.user("technician").username
    client = app.test_client()
    first = _token(client, username, PASSWORD).json["token"]
    second = _token(client, username, PASSWORD).json["token"]
    auth = {"Authorization": f"Bearer {first}"}
    assert client.get("/api/v1/samples", headers=auth).status_code == 200
    assert client.delete("/api/v1/auth/token", headers=auth).status_code == 204
    gone = client.get("/api/v1/samples", headers=auth)
    assert gone.status_code == 401 and gone.json["code"] == "not_authenticated"
    assert client.delete("/api/v1/auth/token", headers=auth).status_code == 401
    assert client.get("/api/v1/samples", headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_an_expired_token_answers_401(app, make):
    from biobank.auth.models import ApiToken
    username = make.user("technician").username
    client = app.test_client()
    token = _token(client, username, PASSWORD).json["token"]
    db.session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.get("/api/v1/samples", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# -- Content-Security-Policy -------------------------------------------------------------------
def test_every_kind_of_response_carries_a_self_only_content_security_policy(app, make, api):
    username = make.user("technician").username
    client = app.test_client()
    responses = [client.get("/login"), client.get("/api/v1/openapi.json"), client.get("/api/v1/docs"),
                 client.get("/api/v1/nothing-here"), client.get("/static/app.css"),
                 api("technician").get("/samples"), api(None).get("/samples")]
    client.post("/login", data={"username": username, "password": PASSWORD})
    responses.append(client.get("/"))
    for response in responses:
        policy = response.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy and "script-src 'self'" in policy, response
        assert not re.search(r"https?:|\*|'unsafe-eval'|script-src[^;]*'unsafe-inline'", policy), policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_api_docs_page_needs_nothing_from_elsewhere_and_no_inline_script(app):
    client = app.test_client()
    page = client.get("/api/v1/docs").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all('src="/' in attrs and not body.strip() for attrs, body in scripts)
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert url.startswith("/") and client.get(url).status_code == 200, url
    assert "openapi.json" in client.get("/api/v1/docs/init.js").get_data(as_text=True)
