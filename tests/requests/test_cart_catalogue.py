"""The researcher's cart lives in the database (it survives logout), takes every match of a search
at once, and the catalogue tells researchers nothing about consent or the exact collection day."""
from biobank.extensions import db
from biobank.requests.opaque import catalogue_id
from biobank.samples.service import find_sample
from biobank.samples.service import withdraw_consent

from ..factories import PASSWORD


def _log_in(app, user):
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def _stock(make):
    box = make.box(rows=4, cols=4, name="Catalogue box")
    for i in range(6):
        make.sample(f"CT-P{i}", box=box, position=f"A{i + 1}" if i < 4 else f"B{i - 3}", sample_type="plasma",
                    donor=f"DC{i % 3}", diagnosis="C50.9", collected_at=f"2025-0{i + 1}-15T09:00:00Z")
    make.sample("CT-S1", box=box, position="C1", sample_type="serum", donor="DC9", diagnosis="C18")
    return box


def test_add_every_match_then_the_cart_survives_logout(app, make):
    _stock(make)
    researcher = make.user("researcher")
    client = _log_in(app, researcher)
    page = client.get("/catalogue?sample_type=plasma").get_data(as_text=True)
    assert "Add all 6 to the cart" in page
    added = client.post("/catalogue/cart/all?sample_type=plasma&diagnosis=C50", follow_redirects=True)
    assert "Added 6 samples to your cart (6 in all)" in added.get_data(as_text=True)
    again = client.post("/catalogue/cart/all?sample_type=plasma", follow_redirects=True)
    assert "Added 0 samples to your cart (6 in all)" in again.get_data(as_text=True)
    client.post("/logout")
    back = _log_in(app, researcher)
    cart = back.get("/cart").get_data(as_text=True)
    ids = {b: catalogue_id(find_sample(b).id) for b in [f"CT-P{i}" for i in range(6)] + ["CT-S1"]}
    assert all(ids[f"CT-P{i}"] in cart for i in range(6)) and ids["CT-S1"] not in cart
    assert "CT-P" not in cart   # catalogue ids, never the barcodes
    other = _log_in(app, make.user("researcher"))
    assert ids["CT-P0"] not in other.get("/cart").get_data(as_text=True)   # carts are per user
    made = back.post("/cart", data={"title": "Breast plasma", "purpose": "proteomics", "ethics_reference": "EC-9",
                                    "submit_now": "y"})
    assert made.status_code == 302
    assert ids["CT-P0"] not in back.get("/cart").get_data(as_text=True)    # emptied into the request


def test_researchers_see_months_and_never_consent(app, make, api):
    _stock(make)
    researcher = api("researcher")
    item = researcher.get("/catalogue?sample_type=plasma").json["items"][0]
    assert item["collected_month"] == "2025-01" and item["collected_at"] is None
    sample = researcher.get("/samples/CT-P0").json
    assert sample["collected_month"] == "2025-01" and sample["collected_at"] is None
    assert "consent_withdrawn" not in sample
    staff = api("technician").get("/samples/CT-P0").json
    assert staff["collected_at"].startswith("2025-01-15")
    withdraw_consent(make.actor("manager"), "DC0", reason="letter")
    db.session.commit()
    refused = researcher.post("/requests", json={"title": "t", "purpose": "p", "ethics_reference": "e",
                                                 "samples": ["CT-P0"]})
    assert refused.status_code == 409 and refused.json["code"] == "sample_unavailable"
    assert "consent" not in refused.json["message"].lower()
    hidden = researcher.get("/samples/CT-P0")
    assert hidden.status_code == 404 and "consent" not in hidden.json["message"].lower()
    html = _log_in(app, make.user("researcher")).get("/catalogue").get_data(as_text=True)
    assert "CT-P0" not in html and "consent" not in html.lower() and "2025-01-15" not in html
