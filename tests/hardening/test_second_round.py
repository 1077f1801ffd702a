"""Second round of hostile input: redirects, a bearer header next to a session cookie, label links
that used to write, barcodes with a trailing newline."""
import pytest

from biobank import create_app
from biobank.auth.service import issue_token

from .conftest import events, idle, samples
from .test_web_security import _form_token, _login

# -- login redirects ------------------------------------------------------------------------
EVIL_NEXT = ["/%09/evil.com", "/%0a/evil.com", "/%0d/evil.com", "/%0d%0aSet-Cookie:%20x=1", "%0d%0a/x",
             "//evil.com", "///evil.com", "/\\evil.com", "/%5Cevil.com", "\\\\evil.com", "https://evil.com",
             "http:/evil.com", "javascript:alert(1)", "%20//evil.com", "/%20/evil.com", "/%00/evil.com",
             "/%7f/evil.com", "/%e2%80%a8/evil.com", "/%c2%a0/evil.com", "evil.com", "@evil.com", ""]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_login_never_redirects_off_site_and_never_fails_on_next(app, make, target):
    from ..factories import PASSWORD
    user = make.user("technician")
    response = app.test_client().post(f"/login?next={target}", data={"username": user.username,
                                                                      "password": PASSWORD})
    assert response.status_code == 302, (target, response.status_code)
    location = response.headers["Location"]
    assert location == "/", (target, location)


def test_login_keeps_a_same_site_next(app, make):
    from ..factories import PASSWORD
    user = make.user("technician")
    response = app.test_client().post("/login?next=/samples%3Fq%3DA-1%26page%3D2", data={
        "username": user.username, "password": PASSWORD})
    assert response.headers["Location"] == "/samples?q=A-1&page=2"


def test_a_redirect_back_after_an_error_stays_on_the_site(app, make, box):
    from ..factories import PASSWORD
    make.sample("REF-1", box=box, position="A1")
    user = make.user("technician")
    client = app.test_client()
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    for referrer in ("https://evil.com/x", "//evil.com/", "http://localhost/%0d%0ax", "http://localhost/samples"):
        # an unknown request is a domain error, answered with a flash message and a redirect back
        for url in ("/requests/999999/submit", "/requests/999999/approve"):
            response = client.post(url, data={"reason": "x"}, headers={"Referer": referrer})
            assert response.status_code == 302, (referrer, response.status_code)
            location = response.headers["Location"]
            assert location.startswith("/") and not location.startswith("//") and "evil" not in location, \
                (referrer, location)


# -- a bearer header next to the session cookie ------------------------------------------------
@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ", "Bearer x.y.z"])
def test_a_made_up_bearer_header_does_not_carry_the_session_past_csrf(database_url, make, box, header):
    tech, box_id = make.user("technician").username, box.id
    idle()
    protected = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    client = protected.test_client()
    assert _login(client, tech).status_code == 302
    before = samples(), events()
    idle()
    body = {"barcode": "BH-1", "sample_type": "plasma", "location": {"container_id": box_id, "position": "A1"}}
    refused = client.post("/api/v1/samples", json=body, headers={"Authorization": header})
    assert refused.status_code in (400, 401), refused.json
    assert (samples(), events()) == before
    # a real token still works with or without a cookie next to it, and the cookie alone needs the CSRF header
    token = issue_token(make._user_of("technician"), 1)[0]
    idle()
    assert client.post("/api/v1/samples", json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 201
    assert client.post("/api/v1/samples", json=dict(body, barcode="BH-2", location={"strategy": "compact"})
                       ).json["code"] == "csrf_failed"
    accepted = client.post("/api/v1/samples", json=dict(body, barcode="BH-2", location={"strategy": "compact"}),
                           headers={"X-CSRFToken": _form_token(client, "/samples/new")})
    assert accepted.status_code == 201


def test_the_bearer_token_decides_who_acts_not_the_cookie(database_url, make, box):
    manager = make.user("manager").username
    researcher_token = issue_token(make._user_of("researcher"), 1)[0]
    idle()
    protected = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    client = protected.test_client()
    assert _login(client, manager).status_code == 302
    response = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {researcher_token}"})
    assert response.status_code == 403  # the researcher's token, not the manager's cookie


# -- label links do not write -----------------------------------------------------------------
def test_no_get_anywhere_writes_into_the_custody_log(app, make, box, api):
    """Every GET route of the app (pages and API), called by a logged-in admin: the log does not grow."""
    import re
    from ..factories import PASSWORD
    make.sample("GET-1", box=box, position="A1")
    admin = make.user("admin")
    client = app.test_client()
    client.post("/login", data={"username": admin.username, "password": PASSWORD})
    values = {"barcode": "GET-1", "container_id": str(box.id), "fmt": "pdf", "request_id": "1", "donor": "D1",
              "id": "1", "chart": "capacity", "filename": "app.css", "event_id": "1"}
    before = events()
    called = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/static"):
            continue
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:[^>]+:)?{name}>", values.get(name, "1"), url)
        response = client.get(url)
        response.close()
        called += 1
        assert response.status_code < 500, (url, response.status_code)
        assert events() == before, url
    assert called > 30


def test_a_label_printed_from_the_page_is_a_post_with_csrf(database_url, make, box):
    make.sample("LBL-1", box=box, position="A1")
    tech = make.user("technician").username
    idle()
    protected = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    client = protected.test_client()
    assert _login(client, tech).status_code == 302
    before = events()
    idle()
    assert client.post("/samples/LBL-1/label.pdf").status_code == 400  # no CSRF token: refused
    assert events() == before
    idle()
    page = client.get("/samples/LBL-1").get_data(as_text=True)
    assert 'action="/samples/LBL-1/label.pdf"' in page and 'method="post"' in page
    token = _form_token(client, "/samples/LBL-1")
    idle()
    printed = client.post("/samples/LBL-1/label.pdf", data={"csrf_token": token})
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    assert events() == before + 1


# -- regular expressions end at the end -------------------------------------------------------
@pytest.mark.parametrize("suffix", ["\n", "\r\n", "\n\n"])
def test_a_trailing_newline_is_never_stored_as_part_of_a_validated_name(make, api, box, suffix):
    """A container barcode used to be accepted with a newline at its end (`$` matches before it).
    Sample fields are trimmed like a scanner's input; nothing keeps the newline."""
    admin, tech = api("admin"), api("technician")
    before = samples(), events()
    container = admin.post("/containers", json={"name": "Box NL", "kind": "box", "rows": 2, "cols": 2,
                                                "barcode": "BOX-NL" + suffix})
    assert container.status_code == 422 and container.json["code"] == "invalid_barcode", container.json
    assert (samples(), events()) == before
    fields = {"donor": "D1", "diagnosis": "C50.9", "anatomical_site": "C50.9", "sprec": "TIS-ZZZ-A-B-C-D-E"}
    for n, (field, value) in enumerate(fields.items()):
        answer = tech.post("/samples", json={"barcode": f"NL-{n}", "sample_type": "plasma", field: value + suffix,
                                             "location": {"container_id": box.id, "position": f"A{n % 2 + 1}"
                                                          if n < 2 else f"B{n % 2 + 1}"}})
        assert answer.status_code in (201, 422), (field, answer.json)
        if answer.status_code == 201:
            assert answer.json[field] == value, (field, answer.json[field])


def test_regex_validation_is_anchored_at_the_very_end():
    """The class: every validating pattern of the code refuses a trailing newline."""
    from biobank.auth import service as auth
    from biobank.labels import templates
    from biobank.samples import validation
    from biobank.storage import service as storage
    patterns = {"username": (auth.USERNAME_RE, "tech.1"), "template": (templates.NAME_RE, "cryovial"),
                "container barcode": (storage._BARCODE, "BOX-1"), "barcode": (validation.BARCODE_RE, "S-1"),
                "donor": (validation.DONOR_RE, "D1"), "topography": (validation.ICDO3_TOPOGRAPHY_RE, "C50.9"),
                "icd10": (validation.ICD10_RE, "C50.9"), "sprec": (validation.SPREC_RE, "TIS-ZZZ-A-B-C-D-E")}
    for name, (pattern, good) in patterns.items():
        assert pattern.match(good) and pattern.fullmatch(good), name
        assert not pattern.match(good + "\n") and not pattern.fullmatch(good + "\n"), name


def test_a_generated_container_barcode_is_always_printable(api):
    """Found by the stateful fuzzer: a kind starting with a letter outside ASCII gave a generated
    barcode Code 128 cannot encode, and printing its label answered 500."""
    from biobank.samples.validation import BARCODE_RE
    admin = api("admin")
    created = admin.post("/containers", json={"name": "Shelf", "kind": "étagère"})
    assert created.status_code == 201, created.json
    assert BARCODE_RE.fullmatch(created.json["barcode"]), created.json["barcode"]
    label = admin.post(f"/containers/{created.json['id']}/label", json={"format": "zpl"})
    assert label.status_code == 200
