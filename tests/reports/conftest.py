"""Fixtures of the reports tests: a rack of 8 x 12 boxes and the example scanner files."""
import csv
from pathlib import Path

import pytest

from biobank.extensions import db
from biobank.samples import service as samples
from biobank.storage.positions import parse

DATA = Path(__file__).parent / "data"


def scan_lines(name: str) -> list[tuple[str, str]]:
    """(position, barcode field) of an example scanner file, header skipped."""
    rows = list(csv.reader((DATA / name).read_text().splitlines()))
    rows = [r for r in rows if r]
    if not parse_ok(rows[0][-2]):
        rows = rows[1:]
    return [(r[-2], r[-1]) for r in rows]


def parse_ok(text: str) -> bool:
    try:
        parse(text)
        return True
    except Exception:
        return False


@pytest.fixture
def rack(make):
    """A tank with one rack of two 8 x 12 boxes: (tank, box, other_box)."""
    tank = make.tank(racks=1, boxes_per_rack=2, rows=8, cols=12, name="Tank R")
    box, other = make.boxes_of(tank)
    return tank, box, other


@pytest.fixture
def register(make):
    """register([(barcode, box, position), ...]) in one transaction."""
    def register_all(entries, **fields):
        for barcode, box, position in entries:
            samples.register_sample(make.admin, barcode=barcode, sample_type=fields.get("sample_type", "plasma"),
                                    donor=fields.get("donor", "D0001"), volume="1.0",
                                    location={"container_id": box.id, "position": position})
        db.session.commit()
    return register_all


@pytest.fixture
def page(app, make):
    """page(role): a browser-like test client logged in through the login form."""
    from ..factories import PASSWORD

    def login(role):
        client = app.test_client()
        user = make.user(role)
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302
        return client
    return login
