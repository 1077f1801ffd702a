"""Sign-in through a real OpenID provider (oidc-provider under Node.js): the authorization code
flow with PKCE from our login page through the provider's login and consent pages and
back, the user provisioned with the role their groups claim maps to."""
import html
import re
from urllib.parse import urljoin, urlsplit

import requests
from sqlalchemy import select

from biobank.auth.models import User
from biobank.extensions import db

from ..factories import PASSWORD

APP = "http://localhost"


def _follow(browser: requests.Session, url: str) -> tuple[str, requests.Response | None]:
    """Follow the provider's redirects until they lead back to the app: (app URL, None), or to a page."""
    while True:
        if url.startswith(APP):
            return url, None
        response = browser.get(url, allow_redirects=False)
        if response.is_redirect:
            url = urljoin(response.url, response.headers["Location"])
            continue
        return url, response


def _submit(browser: requests.Session, page: requests.Response, **fields) -> str:
    action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1))
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    response = browser.post(urljoin(page.url, action), data={**hidden, **fields}, allow_redirects=False)
    assert response.is_redirect, response.text[:500]
    return urljoin(response.url, response.headers["Location"])


def sign_in(client, login: str, next_page="/") -> object:
    """Our login button, the provider's pages (any password), consent, back to our callback."""
    start = client.get(f"/login/oidc?next={next_page}")
    assert start.status_code == 302
    browser = requests.Session()
    url, page = _follow(browser, start.headers["Location"])
    assert 'name="login"' in page.text                               # the provider's login page
    url, page = _follow(browser, _submit(browser, page, login=login, password="anything"))
    if page is not None:                                             # the consent page
        assert "Continue" in page.text
        url, page = _follow(browser, _submit(browser, page))
    assert page is None and urlsplit(url).path == "/login/oidc/callback" and "code=" in url
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def _user(username):
    db.session.expire_all()
    found = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    db.session.commit()
    return found


def test_login_page_offers_the_hospital_sign_in_and_provisions_the_user(app, openid_provider):
    openid_provider()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert 'id="oidc-login"' in page and "Sign in with the hospital account" in page

    back = sign_in(client, "aziza", next_page="/audit")
    assert back.status_code == 302 and back.headers["Location"].endswith("/audit")
    user = _user("aziza.k")
    assert (user.role, user.email, user.password_hash) == ("manager", "aziza@hospital.example", "sso:oidc")
    assert client.get("/api/v1/capacity").status_code == 200        # signed in as a manager
    again = sign_in(app.test_client(), "aziza")                      # the second time: the same user
    assert again.status_code == 302 and _user("aziza.k").id == user.id


def test_roles_come_from_the_groups_claim_and_unmapped_users_are_refused(app, openid_provider, make):
    openid_provider()
    researcher = app.test_client()
    assert sign_in(researcher, "timur").status_code == 302
    assert _user("timur").role == "researcher"
    assert researcher.get("/api/v1/capacity").status_code == 403

    refused = sign_in(app.test_client(), "guest")
    assert refused.status_code == 403 and "none of their groups" in refused.get_data(as_text=True)
    assert _user("guest") is None

    local = make.user("technician", username="aziza.k")              # a local account of that name
    taken = sign_in(app.test_client(), "aziza")
    assert taken.status_code == 401 and "local account" in taken.get_data(as_text=True)
    assert app.test_client().post("/login", data={"username": local.username, "password": PASSWORD}
                                  ).status_code == 302               # local accounts keep working


def test_a_forged_or_replayed_callback_is_refused(app, openid_provider):
    openid_provider()
    client = app.test_client()
    client.get("/login/oidc")
    forged = client.get("/login/oidc/callback?code=made-up&state=made-up")
    assert forged.status_code == 401 and "could not be completed" in forged.get_data(as_text=True)
    denied = client.get("/login/oidc/callback?error=access_denied&error_description=User+cancelled")
    assert denied.status_code == 401 and "User cancelled" in denied.get_data(as_text=True)
    assert client.get("/api/v1/capacity").status_code == 401


def test_without_configuration_there_is_no_hospital_sign_in(app):
    client = app.test_client()
    assert 'id="oidc-login"' not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/oidc").status_code == 404
