"""Withdrawing consent in the browser's forms, the worklist of the donor's tubes still held, and
the plain warning on every screen that shows one of them."""
import pytest
from sqlalchemy import select

from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.requests import service as requests_service
from biobank.samples import consent
from biobank.samples.models import Sample

from .factories import PASSWORD


@pytest.fixture
def world(make):
    box = make.box(rows=3, cols=3, name="Consent box")
    for barcode, position, donor in (("CW-1", "A1", "DW1"), ("CW-2", "A2", "DW1"), ("CW-3", "A3", "DW1"),
                                     ("CK-1", "B1", "DK1")):
        make.sample(barcode, box=box, position=position, donor=donor)
    return box


def _client(app, make, role):
    user = make.user(role)
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def test_withdraw_asks_for_confirmation_then_lists_the_tubes(app, make, world):
    manager = _client(app, make, "manager")
    first = manager.post("/consent", data={"donor": "DW1", "reason": "Form WC-17"})
    page = first.get_data(as_text=True)
    assert first.status_code == 200 and "Withdraw the consent of donor DW1?" in page and 'data-held>3' in page
    assert not db.session.execute(select(Sample.consent_withdrawn).where(Sample.barcode == "CW-1")).scalar_one()
    done = manager.post("/consent", data={"donor": "DW1", "reason": "Form WC-17", "confirmed": "DW1"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/consent/DW1")
    worklist = manager.get("/consent/DW1").get_data(as_text=True)
    assert "3</strong> tubes left" in worklist and "CK-1" not in worklist

    assert manager.post("/consent/DW1/CW-1/discard", data={"reason": "Consent withdrawn by the donor"}
                        ).status_code == 302
    assert manager.post("/consent/DW1/CW-2/return", data={"recipient": "Samarkand regional centre"}
                        ).status_code == 302
    db.session.rollback()
    assert [s.barcode for s in consent.worklist(make.actor("manager"), "DW1")] == ["CW-3"]
    assert consent.worklist_summary(make.actor("manager"))[0]["remaining"] == 1
    events = {e.sample_barcode: e for e in db.session.execute(select(CustodyEvent).where(
        CustodyEvent.action.in_(("sample.discarded", "sample.shipped")))).scalars()}
    assert events["CW-1"].action == "sample.discarded" and events["CW-1"].reason == "Consent withdrawn by the donor"
    assert events["CW-2"].to_location == "Samarkand regional centre"
    assert db.session.execute(select(Sample.status).where(Sample.barcode == "CW-2")).scalar_one() == "shipped"
    # a tube of a consenting donor is not closed this way
    refused = manager.post("/consent/DK1/CK-1/discard", data={"reason": "x"}, follow_redirects=True)
    assert "has not withdrawn consent" in refused.get_data(as_text=True)


def test_every_screen_with_a_withdrawn_tube_says_so(app, make, world):
    consent_actor = make.actor("manager")
    request = requests_service.create_request(make.actor("researcher"), title="T", purpose="p",
                                              ethics_reference="E", samples=["CW-3"])
    requests_service.submit_request(make.actor("researcher"), request.id)
    requests_service.approve_request(consent_actor, request.id)
    from biobank.samples.service import withdraw_consent
    withdraw_consent(consent_actor, "DW1", reason="letter")
    db.session.commit()
    technician = _client(app, make, "technician")
    for path in ("/samples/CW-1", "/scan?code=CW-1"):
        assert 'data-consent="withdrawn"' in technician.get(path).get_data(as_text=True), path
    box_map = technician.get(f"/containers/{world.id}").get_data(as_text=True)
    assert box_map.count('data-consent="withdrawn"') == 3 and "consent withdrawn" in box_map
    assert 'data-consent="withdrawn"' not in technician.get("/samples/CK-1").get_data(as_text=True)
    picklist = technician.get(f"/requests/{request.id}/picklist").get_data(as_text=True)
    assert "consent withdrawn: do not ship" in picklist
    assert app.test_client().get("/consent").status_code == 302        # log in first
    assert technician.get("/consent").status_code in (302, 403)          # managers only


def test_the_managers_home_lists_donors_whose_tubes_wait_to_be_destroyed_or_returned(app, make, world):
    manager = _client(app, make, "manager")
    assert "No tube is waiting to be destroyed" in manager.get("/").get_data(as_text=True)
    manager.post("/consent", data={"donor": "DW1", "reason": "Form WC-17", "confirmed": "DW1"})
    page = manager.get("/").get_data(as_text=True)
    section = page[page.index('data-section="consent"'):]
    section = section[:section.index("</section>")]
    assert "Donor DW1" in section and "3 tubes to destroy or return" in section and "DK1" not in section
    assert '<span class="count-badge">3</span>' in section and 'href="/consent/DW1"' in section
