"""The manager pages: capacity dashboard, custody log, reconciliation."""
import io

from sqlalchemy import select

from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.samples.service import get_sample


def test_capacity_page_draws_labelled_svg_charts_and_alerts(app, make, page):
    tank = make.tank(racks=1, boxes_per_rack=1, rows=2, cols=2, name="Tank <Cold>")
    box = make.boxes_of(tank)[0]
    for i, position in enumerate(["A1", "A2", "B1", "B2"]):
        make.sample(f"PG-{i}", box=box, position=position)
    html = page("manager").get("/reports/capacity").get_data(as_text=True)
    assert html.count("<svg") == 2 and 'role="img"' in html
    assert "url(#hatch-alert)" in html and "4/4 (100%) ALERT" in html
    assert "Tank &lt;Cold&gt;" in html and "Tank <Cold>" not in html
    assert "ALERT:</strong> Main site / Tank &lt;Cold&gt; is 100% full" in html
    assert "Least-squares" in html
    typed = page("technician").get("/reports/capacity?by_type=1").get_data(as_text=True)
    assert "Plasma: 4" in typed    # the human name of the type
    svg = page("manager").get("/reports/capacity/intake.svg")
    assert svg.mimetype == "image/svg+xml" and b">4</text>" in svg.data


def test_pages_refuse_researchers(make, page):
    client = page("researcher")
    for path in ("/reports/capacity", "/audit", "/reports/reconcile"):
        assert client.get(path).status_code == 403, path
    assert client.post("/audit/verify").status_code == 403


def test_audit_page_filters_pages_and_verifies(make, page):
    box = make.box(rows=3, cols=3)
    make.sample("LOG-1", box=box, position="A1")
    make.sample("LOG-2", box=box, position="A2")
    client = page("technician")
    html = client.get("/audit").get_data(as_text=True)
    assert "Never run from the UI" in html and "LOG-1" in html and "LOG-2" in html
    only = client.get("/audit?sample=LOG-1").get_data(as_text=True)
    assert "LOG-1" in only and "LOG-2" not in only
    assert "format=csv" in only and "sample=LOG-1" in only
    none = client.get("/audit?until=2000-01-01").get_data(as_text=True)
    assert "No events match" in none
    reversed_range = client.get("/audit?since=2030-01-02&until=2030-01-01").get_data(as_text=True)
    assert "ends before it starts" in reversed_range
    response = client.post("/audit/verify", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Chain intact" in html and "✔ Intact" in html and "Never run from the UI" not in html
    last = db.session.execute(select(CustodyEvent).order_by(CustodyEvent.seq.desc()).limit(1)).scalar_one()
    assert last.action == "audit.verified" and last.via == "web"


def test_reconcile_page_compares_and_a_manager_applies(make, page):
    tank = make.tank(racks=1, boxes_per_rack=2, rows=8, cols=12)
    box, other = make.boxes_of(tank)
    make.sample("WEB-1", box=box, position="A1")
    make.sample("WEB-2", box=other, position="A1")
    scan = b"Rack,Position,Barcode\r\nR9,A01,WEB-2\r\nR9,A02,WEB-1\r\nR9,A03,NO READ\r\n"
    tech = page("technician")
    html = tech.post("/reports/reconcile", data={"container": box.barcode,
                                                 "file": (io.BytesIO(scan), "scan.csv")}).get_data(as_text=True)
    assert "Misplaced" in html and "WEB-1" in html and "Only a manager or an admin" in html
    assert 'name="correction"' not in html
    manager = page("manager")
    html = manager.post("/reports/reconcile", data={"container": box.barcode,
                                                    "file": (io.BytesIO(scan), "scan.csv")}).get_data(as_text=True)
    assert 'value="WEB-1@A2"' in html and 'value="WEB-2@A1"' in html
    refused = tech.post("/reports/reconcile/apply", data={"container_id": box.id, "correction": ["WEB-1@A2"]})
    assert refused.status_code in (302, 403) and get_sample("WEB-1").position == "A1"
    applied = manager.post("/reports/reconcile/apply", data={"container_id": box.id,
                                                             "correction": ["WEB-1@A2", "WEB-2@A1"]},
                           follow_redirects=True)
    assert "Applied 2 correction move(s)" in applied.get_data(as_text=True)
    db.session.expire_all()
    assert get_sample("WEB-1").position == "A2" and get_sample("WEB-2").location_path.endswith(f"{box.name} / A1")
    bad = manager.post("/reports/reconcile", data={"container": box.barcode,
                                                   "file": (io.BytesIO(b"A1,WEB-1\nA1,WEB-2\n"), "scan.csv")})
    assert bad.status_code == 422 and "line 2" in bad.get_data(as_text=True)


def test_capacity_page_shows_one_site_at_a_time(make, page):
    from biobank.storage import service as storage
    sites = [storage.create_container(make.admin, name=name, kind="site") for name in ("North", "South")]
    db.session.commit()
    for site in sites:
        make.tank(racks=1, boxes_per_rack=1, rows=2, cols=2, name=f"{site.name} tank", parent_id=site.id)
    client = page("network_manager")  # a manager sees their own sites only
    everything = client.get("/reports/capacity").get_data(as_text=True)
    assert "North tank" in everything and "South tank" in everything
    assert f'href="/reports/capacity?within={sites[1].id}"' in everything
    south = client.get(f"/reports/capacity?within={sites[1].id}&boxes=1").get_data(as_text=True)
    assert "<h1>Capacity: South</h1>" in south and "South tank" in south and "North tank" not in south
    assert f'name="within" value="{sites[1].id}"' in south  # the threshold form keeps the site
    hide_boxes = south.split(">Hide boxes<")[0].rsplit('href="', 1)[1]
    assert hide_boxes.startswith(f"/reports/capacity?within={sites[1].id}")  # so do the other links
    gone = client.get("/reports/capacity?within=999999", follow_redirects=True)
    assert gone.status_code == 200 and "There is no container 999999." in gone.get_data(as_text=True)
    assert client.get("/reports/capacity/fill.svg?within=999999").status_code == 404
