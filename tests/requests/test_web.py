"""The request pages through the Flask test client (the browser test drives the same pages)."""
from biobank.extensions import db
from biobank.requests.models import ResearchRequest
from biobank.requests.opaque import catalogue_id
from biobank.samples.service import find_sample


def cid(barcode):
    return catalogue_id(find_sample(barcode).id)


def test_researcher_cart_to_request_and_manager_decision(login, stock):
    researcher = login("researcher")
    page = researcher.get("/catalogue?diagnosis=C50")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert cid("S-A-1") in html and cid("S-A-3") not in html
    assert "S-A-1" not in html  # researchers see catalogue ids, not tube barcodes
    assert "D-S-A-1" not in html and "secret note" not in html and "Tank 02" not in html
    for barcode in ("S-A-1", "S-B-2"):
        assert researcher.post("/catalogue/cart", data={"barcode": cid(barcode)}).status_code == 302
    cart = researcher.get("/cart").get_data(as_text=True)
    assert cid("S-A-1") in cart and cid("S-B-2") in cart and "S-A-1" not in cart
    made = researcher.post("/cart", data={"title": "Plasma", "purpose": "Study", "ethics_reference": "EC-9",
                                          "submit_now": "y"})
    assert made.status_code == 302
    req = db.session.query(ResearchRequest).one()
    assert made.headers["Location"].endswith(f"/requests/{req.id}")
    assert req.status == "submitted" and [i.sample.barcode for i in req.items] == ["S-A-1", "S-B-2"]
    assert cid("S-A-1") not in researcher.get("/cart").get_data(as_text=True)
    mine = researcher.get(f"/requests/{req.id}").get_data(as_text=True)
    assert cid("S-A-1") in mine and "S-A-1" not in mine
    listing = researcher.get("/requests").get_data(as_text=True)
    assert "Plasma" in listing
    assert "Approve" not in researcher.get(f"/requests/{req.id}").get_data(as_text=True)
    # The researcher's own approval attempt is refused with a message.
    refused = researcher.post(f"/requests/{req.id}/approve", data={}, headers={"Referer": f"/requests/{req.id}"})
    assert refused.status_code == 302
    assert "may not" in researcher.get(f"/requests/{req.id}").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ResearchRequest, req.id).status == "submitted"

    manager = login("manager")
    assert "Approve" in manager.get(f"/requests/{req.id}").get_data(as_text=True)
    manager.post(f"/requests/{req.id}/approve", data={})
    db.session.expire_all()
    assert db.session.get(ResearchRequest, req.id).status == "approved"


def test_picking_and_shipping_pages(login, make, stock):
    from biobank.requests import service
    researcher = make.actor("researcher")
    req = service.create_request(researcher, title="t", purpose="p", ethics_reference="e",
                                 samples=["S-B-1", "S-A-1"])
    service.submit_request(researcher, req.id)
    service.approve_request(make.actor("manager"), req.id)
    db.session.commit()
    technician = login("technician")

    printable = technician.get(f"/requests/{req.id}/picklist").get_data(as_text=True)
    assert printable.index("S-A-1") < printable.index("S-B-1")
    assert "data-tank-openings>2<" in printable

    page = technician.get(f"/requests/{req.id}/pick").get_data(as_text=True)
    assert "autofocus" in page and "Tank 02 / Rack 1 / Box 1 / B2" in page
    wrong = technician.post(f"/requests/{req.id}/pick", data={"barcode": "S-A-3"},
                            headers={"Referer": f"/requests/{req.id}/pick"}, follow_redirects=True)
    text = wrong.get_data(as_text=True)
    assert "S-A-3" in text and "not on the pick list" in text
    db.session.expire_all()
    assert db.session.get(ResearchRequest, req.id).status == "approved"
    for barcode in ("S-A-1", "S-B-1"):
        answer = technician.post(f"/requests/{req.id}/pick", data={"barcode": barcode}, follow_redirects=True)
        assert f"Picked {barcode}" in answer.get_data(as_text=True)
    shipped = technician.post(f"/requests/{req.id}/ship", data={"recipient": "Dr Ada", "courier": "DHL"},
                              follow_redirects=True)
    assert "shipped" in shipped.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ResearchRequest, req.id).status == "shipped"
    manifest = technician.get(f"/requests/{req.id}/manifest.csv")
    assert manifest.status_code == 200 and "S-A-1" in manifest.get_data(as_text=True)
