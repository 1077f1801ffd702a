"""A small stocked biobank for the request tests: two tanks, samples spread over
boxes in an order that differs from picking order."""
from dataclasses import dataclass, field

import pytest

from biobank.extensions import db
from tests.factories import PASSWORD


@dataclass
class Stock:
    tanks: list
    boxes: dict            # (tank index, rack, box) -> Container
    barcodes: list = field(default_factory=list)


@pytest.fixture
def stock(make):
    """Tank A (2 racks × 2 boxes) and tank B (1 rack × 2 boxes), 3×3 boxes.

    Samples (registered deliberately out of picking order):
      S-B-1  tank B rack 1 box 2 C3   plasma  C50.9 / C50.4  2021   1.0 mL
      S-A-3  tank A rack 2 box 1 A1   serum   C18.7 / C18.7  2022   0.5 mL
      S-A-1  tank A rack 1 box 1 B2   plasma  C50.1 / C50.1  2021   2.0 mL
      S-A-2  tank A rack 1 box 1 A3   dna     C34.1 / C34.1  2023   0.2 mL
      S-B-2  tank B rack 1 box 1 A1   plasma  C50.9 / C50.4  2022   1.5 mL
      S-A-4  tank A rack 1 box 2 A1   plasma  C61   / C61.9  2020   1.0 mL
      S-W-1  tank B rack 1 box 1 B1   plasma  C50.9          donor WD (consent withdrawn later)
    """
    tank_a = make.tank(racks=2, boxes_per_rack=2, rows=3, cols=3, name="Tank 02")
    tank_b = make.tank(racks=1, boxes_per_rack=2, rows=3, cols=3, name="Tank 10")
    boxes = {}
    for index, tank in enumerate((tank_a, tank_b)):
        for r, rack in enumerate(tank.children, 1):
            for b, box in enumerate(rack.children, 1):
                boxes[(index, r, b)] = box
    specs = [
        ("S-B-1", (1, 1, 2), "C3", dict(sample_type="plasma", diagnosis="C50.9", anatomical_site="C50.4",
                                        collected_at="2021-03-01T10:00:00Z", volume="1.0", unit="mL")),
        ("S-A-3", (0, 2, 1), "A1", dict(sample_type="serum", diagnosis="C18.7", anatomical_site="C18.7",
                                        collected_at="2022-05-01T10:00:00Z", volume="0.5", unit="mL")),
        ("S-A-1", (0, 1, 1), "B2", dict(sample_type="plasma", diagnosis="C50.1", anatomical_site="C50.1",
                                        collected_at="2021-07-01T10:00:00Z", volume="2.0", unit="mL")),
        ("S-A-2", (0, 1, 1), "A3", dict(sample_type="dna", diagnosis="C34.1", anatomical_site="C34.1",
                                        collected_at="2023-01-10T10:00:00Z", volume="0.2", unit="mL")),
        ("S-B-2", (1, 1, 1), "A1", dict(sample_type="plasma", diagnosis="C50.9", anatomical_site="C50.4",
                                        collected_at="2022-02-01T10:00:00Z", volume="1.5", unit="mL")),
        ("S-A-4", (0, 1, 2), "A1", dict(sample_type="plasma", diagnosis="C61", anatomical_site="C61.9",
                                        collected_at="2020-09-01T10:00:00Z", volume="1.0", unit="mL")),
        ("S-W-1", (1, 1, 1), "B1", dict(sample_type="plasma", diagnosis="C50.9", anatomical_site="C50.4",
                                        collected_at="2021-03-01T10:00:00Z", volume="1.0", unit="mL",
                                        donor="WD")),
    ]
    for barcode, where, position, fields in specs:
        fields.setdefault("donor", "D-" + barcode)
        make.sample(barcode, box=boxes[where], position=position, notes="secret note", **fields)
    db.session.commit()
    return Stock(tanks=[tank_a, tank_b], boxes=boxes, barcodes=[s[0] for s in specs])


REQUEST_BODY = {"title": "Breast cancer plasma", "purpose": "Biomarker validation",
                "ethics_reference": "EC-2024-017"}


@pytest.fixture
def request_body():
    return lambda samples, **kw: dict(REQUEST_BODY, samples=samples, **kw)


@pytest.fixture
def login(app, make):
    """A logged-in browser session (Flask test client) of a new user with this role."""
    def as_role(role):
        user = make.user(role)
        client = app.test_client()
        answer = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert answer.status_code == 302
        return client
    return as_role
