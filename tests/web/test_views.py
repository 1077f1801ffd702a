"""The web views through Flask's test client: forms, errors, permissions, pagination."""
import re
from pathlib import Path


from biobank import create_app
from biobank.samples.models import Sample
from biobank.extensions import db


def text(response):
    return response.get_data(as_text=True)


def test_login_page_and_wrong_password(client, make):
    user = make.user("technician")
    assert client.get("/").status_code == 302  # to the login page
    response = client.post("/login", data={"username": user.username, "password": "nope-nope"})
    assert response.status_code == 401
    assert "Wrong username or password" in text(response)
    response = client.post("/login", data={"username": "", "password": ""})
    assert response.status_code == 422
    assert "Enter your username." in text(response)


def test_csrf_refused_without_token(database_url, make):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    user = make.user("technician")
    response = client.post("/login", data={"username": user.username, "password": "test-password-1"})
    assert response.status_code == 400
    assert "/login" not in response.headers.get("Location", "")
    # With the token from the form it works.
    page = text(client.get("/login"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": user.username, "password": "test-password-1",
                                           "csrf_token": token})
    assert response.status_code == 302
    # A state change without the token is refused and changes nothing.
    db.session.rollback()  # the login wrote its session row: read on from there, not an older snapshot
    box = make.box()
    sample = make.sample("CSRF-1", box=box, position="A1")
    response = client.post(f"/samples/{sample.barcode}/discard", data={"reason": "broken", "confirm": "CSRF-1"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Sample, sample.id).status == "available"


def test_technician_home_is_the_scan_page_and_researcher_home_is_not(client, make, login):
    login(make.user("technician"))
    page = text(client.get("/"))
    assert 'data-scan-input' in page and "autofocus" in page
    client.post("/logout")
    login(make.user("researcher"))
    page = text(client.get("/"))
    assert "data-scan-input" not in page
    assert "/catalogue" in page


def test_nav_shows_only_pages_the_role_may_use(client, make, login):
    login(make.user("technician"))
    page = text(client.get("/"))
    assert 'href="/samples"' in page
    assert "Layout builder" not in page        # storage layout: admin and manager only
    client.post("/logout")
    login(make.user("manager"))
    assert "Layout builder" in text(client.get("/"))


def test_nav_link_only_for_endpoints_that_exist_and_the_role_may_use(database_url, make):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False})
    if "custody_web.audit_log" not in app.view_functions:   # before the audit page lands
        app.add_url_rule("/audit-test", "custody_web.audit_log", lambda: "audit")
    from flask import render_template_string
    app.add_url_rule("/nav-test", "nav_test", lambda: render_template_string(
        "[{{ nav_link('ghost_web.page', 'Ghost') }}][{{ nav_link('custody_web.audit_log', 'Audit') }}]"))
    client = app.test_client()
    technician, researcher = make.user("technician"), make.user("researcher")
    client.post("/login", data={"username": technician.username, "password": "test-password-1"})
    page = text(client.get("/nav-test"))
    assert page.startswith("[]") and ">Audit</a>]" in page
    client.post("/logout")
    client.post("/login", data={"username": researcher.username, "password": "test-password-1"})
    assert text(client.get("/nav-test")) == "[][]"


def test_scan_known_sample_box_and_unknown(client, make, login):
    login(make.user("technician"))
    box = make.box(rows=2, cols=2)
    make.sample("SCAN-1", box=box, position="B2")
    page = text(client.get("/scan?code=SCAN-1"))
    assert f"{box.path} / B2" in page
    assert "Move" in page and "Check out" in page and "Discard" in page
    response = client.get(f"/scan?code={box.barcode}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/containers/{box.id}")
    response = client.get("/scan?code=NOPE-404")
    assert response.status_code == 404
    assert "Unknown barcode: NOPE-404" in text(response) and 'data-beep="error"' in text(response)


def test_the_command_sheet_prints_every_command_as_a_barcode_that_scans(client, make, login):
    from biobank.core.web import COMMANDS
    from tests.labels.helpers import pdf_pages, texts
    login(make.user("technician"))
    assert "/scan/commands.pdf" in text(client.get("/scan"))
    response = client.get("/scan/commands.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    [page] = pdf_pages(response.data, dpi=200)
    assert sorted(texts(page)["code128"]) == sorted(COMMANDS)
    client.post("/logout")
    login(make.user("researcher"))
    refused = client.get("/scan/commands.pdf", follow_redirects=True)
    assert refused.mimetype == "text/html" and "may not" in text(refused)


def test_scan_sample_then_box_asks_for_the_position(client, make, login):
    login(make.user("technician"))
    box = make.box(rows=2, cols=2)
    target = make.box(rows=3, cols=3, name="Target")
    make.sample("SCAN-2", box=box, position="A1")
    page = text(client.get(f"/scan?sample=SCAN-2&code={target.barcode}"))
    assert 'data-testid="position-step"' in page and "Target" in page
    response = client.post("/samples/SCAN-2/move", data={"container": target.barcode, "position": "C3",
                                                         "from_scan": "1"})
    assert response.status_code == 302 and "/scan?code=SCAN-2" in response.headers["Location"]
    assert f"{target.path} / C3" in text(client.get("/scan?code=SCAN-2"))


def test_command_barcode_opens_the_action(client, make, login):
    login(make.user("technician"))
    make.sample("CMD-1", box=make.box(), position="A1")
    response = client.get("/scan?sample=CMD-1&code=CMD:CHECKOUT")
    assert response.status_code == 302 and response.headers["Location"].endswith("/samples/CMD-1/checkout?from_scan=1")
    assert client.get("/scan?code=CMD:CHECKOUT").status_code == 404


def test_register_form_errors_are_shown_next_to_the_fields(client, make, login):
    login(make.user("technician"))
    box = make.box()
    response = client.post("/samples/new", data={"barcode": "", "sample_type": "", "placement": "position"})
    assert response.status_code == 422
    page = text(response)
    assert "Scan or type the tube&#39;s barcode." in page and "Choose the sample type." in page
    assert "Scan the box" in page
    response = client.post("/samples/new", data={"barcode": "BAD CODE!", "sample_type": "plasma",
                                                 "placement": "compact"})
    assert response.status_code == 422 and "is not a valid barcode" in text(response)
    response = client.post("/samples/new", data={"barcode": "REG-1", "sample_type": "plasma", "volume": "1",
                                                 "unit": "mL", "placement": "position", "container": box.barcode,
                                                 "position": "Z9"})
    assert response.status_code == 422 and "outside this box" in text(response)
    assert Sample.query.filter_by(barcode="REG-1").first() is None


def test_register_then_label_step(client, make, login):
    login(make.user("technician"))
    box = make.box()
    response = client.post("/samples/new", data={"barcode": "REG-2", "sample_type": "plasma", "volume": "1",
                                                 "unit": "mL", "placement": "position", "container": box.barcode,
                                                 "position": "B1"})
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert f"{box.path} / B1" in page
    assert "/samples/REG-2/label.pdf" in page


def test_samples_list_paginates_and_filters(client, make, login):
    login(make.user("technician"))
    box = make.box(rows=6, cols=6)
    for i in range(30):
        make.sample(f"PAGE-{i:02d}", box=box, position=f"{'ABCDEF'[i // 6]}{i % 6 + 1}",
                    sample_type="serum" if i < 3 else "plasma")
    first = text(client.get("/samples"))
    assert "PAGE-00" in first and "PAGE-24" in first and "PAGE-25" not in first
    assert "Page 1 of 2" in first
    second = text(client.get("/samples?page=2"))
    assert "PAGE-25" in second and "PAGE-29" in second and "PAGE-00" not in second
    serum = text(client.get("/samples?sample_type=serum"))
    assert "PAGE-02" in serum and "PAGE-03" not in serum and "Page 1 of" not in serum
    none = text(client.get("/samples?q=nothing-like-this"))
    assert "No sample matches" in none


def test_empty_states(client, make, login):
    login(make.user("technician"))
    assert "No samples yet" in text(client.get("/samples"))
    assert "No storage yet" in text(client.get("/containers"))


def test_discard_needs_reason_and_a_second_scan(client, make, login):
    login(make.user("technician"))
    sample = make.sample("DIS-1", box=make.box(), position="A1")
    response = client.post("/samples/DIS-1/discard", data={"reason": "", "confirm": ""})
    assert response.status_code == 422 and "Say why the sample is discarded." in text(response)
    response = client.post("/samples/DIS-1/discard", data={"reason": "cracked tube", "confirm": "DIS-2"})
    assert response.status_code == 422 and "scan the same tube again" in text(response)
    response = client.post("/samples/DIS-1/discard", data={"reason": "cracked tube", "confirm": "DIS-1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Sample, sample.id).status == "discarded"


def test_checkout_and_return_asks_about_thawing(client, make, login):
    login(make.user("technician"))
    box = make.box()
    sample = make.sample("RET-1", box=box, position="C3")
    assert client.post("/samples/RET-1/checkout", data={"reason": "assay"}).status_code == 302
    page = text(client.get("/samples/RET-1"))
    assert "Not in storage" in page and "Return" in page
    response = client.post("/samples/RET-1/return", data={})
    assert response.status_code == 422 and "Say whether the sample thawed." in text(response)
    response = client.post("/samples/RET-1/return", data={"thawed": "yes"})
    assert response.status_code == 302
    db.session.expire_all()
    sample = db.session.get(Sample, sample.id)
    assert sample.status == "available" and sample.freeze_thaw_count == 1 and sample.position == "C3"


def test_aliquot_form(client, make, login):
    login(make.user("technician"))
    make.tank(racks=1, boxes_per_rack=1)
    make.sample("ALQ-1", volume="1.0")
    response = client.post("/samples/ALQ-1/aliquot", data={"count": "3", "volume": "0.5", "strategy": "compact"})
    assert response.status_code == 409 or response.status_code == 422
    assert "does not fit" in text(response)
    response = client.post("/samples/ALQ-1/aliquot", data={"count": "2", "volume": "0.25", "strategy": "compact"})
    assert response.status_code == 302
    page = text(client.get("/samples/ALQ-1"))
    assert "ALQ-1-01" in page and "ALQ-1-02" in page


def test_researcher_sees_no_actions_and_no_location(client, make, login):
    box = make.box()
    make.sample("RES-1", box=box, position="A1", donor="D-SECRET", notes="private")
    login(make.user("researcher"))
    page = text(client.get("/samples/RES-1"))
    assert "D-SECRET" not in page and box.path not in page and "private" not in page
    assert "/samples/RES-1/move" not in page and "/samples/RES-1/discard" not in page
    assert client.get("/samples/RES-1/move").status_code == 302   # refused: flash and back
    assert client.get(f"/containers/{box.id}").status_code == 302
    assert client.get("/scan?code=RES-1").status_code == 302


def test_box_map_has_text_cues(client, make, login):
    login(make.user("technician"))
    box = make.box(rows=2, cols=2)
    make.sample("MAP-1", box=box, position="A2")
    page = text(client.get(f"/containers/{box.id}"))
    assert 'aria-label="A1, empty"' in page
    assert 'aria-label="A2, available, MAP-1"' in page
    assert f'href="/containers/{box.id}/at/A1"' in page and 'href="/samples/MAP-1"' in page


def test_store_at_an_empty_position(client, make, login):
    login(make.user("technician"))
    box = make.box(rows=2, cols=2)
    make.sample("POS-1", box=box, position="A1")
    assert client.get(f"/containers/{box.id}/at/A1").headers["Location"].endswith("/samples/POS-1")
    response = client.post(f"/containers/{box.id}/at/B2", data={"barcode": "POS-1"})
    assert response.status_code == 302
    assert 'aria-label="B2, available, POS-1"' in text(client.get(f"/containers/{box.id}"))
    response = client.post(f"/containers/{box.id}/at/A1", data={"barcode": "NOT-THERE"})
    assert response.status_code == 404 and "No sample has the barcode NOT-THERE" in text(response)


def test_layout_builder_for_managers_only(client, make, login):
    login(make.user("technician"))
    assert client.get("/containers/layout").status_code == 302
    client.post("/logout")
    login(make.user("manager"))
    response = client.post("/containers/layout", data={"name": "", "kind": "tank", "racks": "0",
                                                       "boxes_per_rack": "2", "rows": "3", "cols": "3"})
    assert response.status_code == 422 and "Give the tank a name." in text(response)
    response = client.post("/containers/layout", data={"name": "Tank W", "kind": "tank", "racks": "2",
                                                       "boxes_per_rack": "3", "rows": "4", "cols": "5",
                                                       "parent_id": "", "storage_temperature": ""})
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Tank W" in page and "0 / 120 used" in page and "Rack 2" in page


def test_csv_import_preview_then_import(client, make, login):
    login(make.user("technician"))
    make.tank(racks=1, boxes_per_rack=2, rows=3, cols=3)
    csv_text = ("barcode,sample_type,donor,collected_at,volume,unit,anatomical_site,diagnosis,parent_barcode\n"
                "IMP-1,plasma,D1,2025-03-01T10:00:00Z,1.0,mL,,,\n"
                "IMP-2,serum,D1,2025-03-01T10:00:00Z,1.0,mL,,,\n")
    import io
    response = client.post("/samples/import", data={"file": (io.BytesIO(csv_text.encode()), "s.csv"),
                                                    "strategy": "compact"}, content_type="multipart/form-data")
    assert response.status_code == 200 and "All 2 rows" in text(response)
    assert Sample.query.count() == 0   # a preview stores nothing
    response = client.post("/samples/import/confirm", data={"csv_text": csv_text, "strategy": "compact"})
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Imported 2 samples" in page and "/labels.pdf" in page
    assert Sample.query.count() == 2


def test_csv_import_with_bad_rows_stores_nothing(client, make, login):
    login(make.user("technician"))
    make.tank(racks=1, boxes_per_rack=3, rows=9, cols=9)
    with open(Path(__file__).resolve().parent.parent / "data" / "imports" / "samples-bad-rows.csv", "rb") as fh:
        data = fh.read()
    response = client.post("/samples/import", data={"file": (__import__("io").BytesIO(data), "bad.csv"),
                                                    "strategy": "compact"}, content_type="multipart/form-data")
    assert response.status_code == 422
    page = text(response)
    assert "Nothing was imported" in page and "line 12" in page
    assert Sample.query.count() == 0


def test_move_form_refuses_when_the_tube_was_moved_since_the_form_was_shown(client, make, login):
    login(make.user("technician"))
    box, other = make.box(rows=2, cols=2), make.box(rows=2, cols=2)
    make.sample("SEEN-1", box=box, position="A1")
    form = text(client.get("/samples/SEEN-1/move"))
    seen = {name: re.search(rf'name="{name}" type="hidden" value="([^"]*)"', form).group(1)
            for name in ("seen_container", "seen_position")}
    assert seen == {"seen_container": str(box.id), "seen_position": "A1"}
    # Someone else moves the tube while this form is open.
    from biobank.samples import service
    service.move_sample(make.actor("manager"), "SEEN-1", container_id=other.id, position="B2")
    db.session.commit()
    response = client.post("/samples/SEEN-1/move", data=dict(seen, container=box.barcode, position="B1"))
    assert response.status_code == 409
    assert "no longer where you saw it" in text(response)
    db.session.expire_all()
    assert db.session.execute(db.select(Sample).where(Sample.barcode == "SEEN-1")).scalar_one().position == "B2"


def test_managers_home_lists_overdue_checkouts_with_their_place(client, make, login):
    from datetime import timedelta
    from biobank.core.time import utcnow
    from biobank.samples import service
    box = make.box(rows=1, cols=2)
    make.sample("OVD-1", box=box, position="A2")
    make.sample("OVD-2", box=box, position="A1")
    service.checkout_sample(make.actor(), "OVD-1", due_back=(utcnow() + timedelta(days=1)).isoformat())
    service.checkout_sample(make.actor(), "OVD-2", due_back=(utcnow() + timedelta(days=1)).isoformat())
    db.session.execute(Sample.__table__.update().where(Sample.barcode == "OVD-1")
                       .values(due_back=utcnow() - timedelta(hours=3)))
    db.session.commit()
    login(make.user("manager"))
    page = text(client.get("/"))
    section = page[page.index('data-section="overdue"'):]
    section = section[:section.index("</section>")]
    assert "OVD-1" in section and "OVD-2" not in section     # only the one past its time
    assert "A2" in section                                  # where it goes back
    assert '<span class="count-badge">1</span>' in section
