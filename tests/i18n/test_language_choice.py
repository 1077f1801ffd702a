"""Which language a reader gets, and dates in their site's time zone and their language's format.

The user's own setting wins over a choice made with the switcher (kept in the session), that over
the browser's Accept-Language, that over the default language of the user's site; <html lang>
says which one the page is in."""
import re

import pytest

from biobank.auth.models import User
from biobank.extensions import db
from biobank.network import scope
from biobank.network import service as sites

from ..factories import PASSWORD


def lang_of(response) -> str:
    found = re.search(r'<html lang="([^"]*)"', response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[:300]
    return found.group(1)


def log_in(client, user, **headers):
    response = client.post("/login", data={"username": user.username, "password": PASSWORD}, headers=headers)
    assert response.status_code == 302, response.get_data(as_text=True)


def site_default(make, language=None, time_zone=None):
    make.tank(racks=1, boxes_per_rack=1)          # the first tree: the network's default site
    site = scope.default_site()
    sites.update_site(make.admin, site.id, language=language, time_zone=time_zone)
    db.session.commit()
    return site


def test_english_without_any_choice(client):
    assert lang_of(client.get("/login")) == "en"


def test_site_default_applies_when_the_browser_names_no_language_we_ship(client, make):
    site_default(make, language="uz")
    user = make.user("technician")
    log_in(client, user)
    assert lang_of(client.get("/account")) == "uz"
    assert lang_of(client.get("/account", headers={"Accept-Language": "de-DE,de;q=0.9"})) == "uz"


def test_accept_language_beats_the_site_default(client, make):
    site_default(make, language="uz")
    log_in(client, make.user("technician"))
    assert lang_of(client.get("/account", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"})) == "ko"


def test_switcher_before_login_beats_the_browser_and_survives_the_login(client, make):
    browser = {"Accept-Language": "ko"}
    assert lang_of(client.get("/login", headers=browser)) == "ko"
    response = client.post("/language", data={"language": "ru", "next": "/login"}, headers=browser)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert lang_of(client.get("/login", headers=browser)) == "ru"
    user = make.user("technician")
    log_in(client, user, **browser)
    assert lang_of(client.get("/account", headers=browser)) == "ru"
    assert db.session.get(User, user.id).language is None    # logged out when chosen: not a setting


def test_user_setting_beats_session_and_browser_and_follows_the_user(client, app, make):
    user = make.user("manager")
    log_in(client, user)
    assert client.post("/language", data={"language": "ko", "next": "/account"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).language == "ko"      # switching while logged in saves it
    other = app.test_client()                                 # another workstation, a Russian browser
    with other.session_transaction() as state:
        state["language"] = "uz"
    log_in(other, user, **{"Accept-Language": "ru"})
    assert lang_of(other.get("/account", headers={"Accept-Language": "ru"})) == "ko"
    # the account page's "as my browser asks" clears the setting
    assert client.post("/language", data={"language": "", "next": "/account"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).language is None
    assert lang_of(client.get("/account", headers={"Accept-Language": "ru"})) == "ru"


def test_logging_out_keeps_the_page_in_the_users_language(client, make):
    user = make.user("technician")
    log_in(client, user)
    client.post("/language", data={"language": "uz", "next": "/"})
    response = client.post("/logout")
    assert response.status_code == 302
    assert lang_of(client.get("/login")) == "uz"


def test_an_unknown_language_is_refused_and_changes_nothing(client, make):
    user = make.user("technician")
    log_in(client, user)
    response = client.post("/language", data={"language": "xx", "next": "/account"}, follow_redirects=True)
    assert response.status_code == 200
    assert "Choose one of the languages" in response.get_data(as_text=True)
    assert db.session.get(User, user.id).language is None and lang_of(response) == "en"


def test_switcher_refuses_to_redirect_off_the_site(client):
    response = client.post("/language", data={"language": "ru", "next": "https://evil.example/"})
    assert response.status_code == 302 and "evil" not in response.headers["Location"]


def test_switcher_on_the_login_page_and_the_account_page(client, make):
    html = client.get("/login").get_data(as_text=True)
    for code, name in (("en", "English"), ("uz", "Oʻzbekcha"), ("ru", "Русский"), ("ko", "한국어")):
        assert f'value="{code}" lang="{code}"' in html and name in html
    log_in(client, make.user("technician"))
    html = client.get("/account").get_data(as_text=True)
    assert 'name="language"' in html and "As my browser asks" in html


def test_own_account_api_reads_and_sets_the_language(api, make):
    client = api("researcher")
    assert client.get("/auth/me").get_json()["language"] is None
    answer = client.patch("/auth/me", json={"language": "ru"})
    assert answer.status_code == 200 and answer.get_json()["language"] == "ru"
    refused = client.patch("/auth/me", json={"language": "klingon"})
    assert refused.status_code == 422 and refused.get_json()["code"] == "invalid_language"
    assert client.get("/auth/me").get_json()["language"] == "ru"


def test_site_language_through_the_api(api):
    created = api("admin").post("/sites", json={"code": "SEO", "name": "Seoul partner", "time_zone": "Asia/Seoul",
                                                "language": "ko"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["language"] == "ko"
    refused = api("admin").post("/sites", json={"code": "XX1", "name": "X", "language": "xx"})
    assert refused.status_code == 422


@pytest.mark.parametrize("language, zone, shown", [
    ("ru", "Asia/Tashkent", "1 мар. 2025 г., 15:00"),
    ("ko", "Asia/Seoul", "2025. 3. 1. 19:00"),
    ("en", "UTC", "Mar 1, 2025, 10:00"),
])
def test_a_date_in_the_sites_time_zone_and_the_readers_format(client, make, language, zone, shown):
    site_default(make, time_zone=zone)
    make.sample("TZ-1", collected_at="2025-03-01T10:00:00Z")
    user = make.user("technician")
    log_in(client, user)
    client.post("/language", data={"language": language, "next": "/"})
    response = client.get("/samples/TZ-1")
    assert response.status_code == 200 and lang_of(response) == language
    text = response.get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ")  # CLDR's narrow spaces
    assert shown in text


def test_wtforms_own_messages_in_the_readers_language(app, client):
    """A required field left empty, in Russian (WTForms' catalogue, through Flask-WTF)."""
    from flask_wtf import FlaskForm
    from wtforms import StringField
    from wtforms.validators import InputRequired

    class Probe(FlaskForm):
        name = StringField("Name", validators=[InputRequired()])

    with app.test_request_context("/", method="POST", data={}, headers={"Accept-Language": "ru"}):
        form = Probe()
        assert not form.validate()
        assert form.name.errors == ["Обязательное поле."]


def test_site_language_from_the_command_line(runner, make):
    site = site_default(make)
    result = runner.invoke(args=["sites", "language", site.code, "ru"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert scope.default_site().language == "ru"
    refused = runner.invoke(args=["sites", "language", site.code, "fr"])
    assert refused.exit_code != 0 and "Choose one of the languages" in refused.output
    assert runner.invoke(args=["sites", "language", site.code]).exit_code == 0
    db.session.expire_all()
    assert scope.default_site().language is None


@pytest.mark.parametrize("language, expected", [
    ("ru", {"when": "1 мар. 2025 г., 15:00:09", "day": "1 мар. 2025 г.", "clock": "15:00", "month": "март 2025 г.",
            "number": "41 600,5"}),
    ("ko", {"when": "2025. 3. 1. 15:00:09", "day": "2025. 3. 1.", "clock": "15:00", "month": "2025년 3월",
            "number": "41,600.5"}),
    ("uz", {"when": "1-mar, 2025, 15:00:09", "day": "1-mar, 2025", "clock": "15:00", "month": "mar, 2025",
            "number": "41 600,5"}),
])
def test_filters_write_dates_and_numbers_as_the_reader_does(app, language, expected):
    from datetime import datetime
    from decimal import Decimal

    from flask_babel import force_locale
    from biobank.core import i18n

    stored = datetime(2025, 3, 1, 15, 0, 9)   # naive UTC as stored; shown in UTC without a signed-in user
    with app.test_request_context("/"), force_locale(language):
        shown = {"when": i18n.when(stored, seconds=True), "day": i18n.day(stored), "clock": i18n.clock(stored),
                 "month": i18n.month(stored), "number": i18n.number(Decimal("41600.5"))}
    assert {k: v.replace("\u202f", " ").replace("\xa0", " ") for k, v in shown.items()} == expected
    assert i18n.when(None) == "" and i18n.day(None) == ""
