"""Reads at scale from a real PostgreSQL streaming replica (DATABASE_REPLICA_URL).

A private primary and its replica (pg_basebackup, hot standby) are started for
this module. With the replica's replay paused, what the replica answers is
visibly behind the primary: that is how these tests tell who answered.
"""
import re

import pytest

from biobank import create_app
from biobank.core import databases, pg_clusters
from biobank.extensions import db

from .conftest import IN_CI
from .factories import PASSWORD, Factory


@pytest.fixture(scope="module")
def pair():
    reason = pg_clusters.unavailable()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true requires a PostgreSQL replica: {reason}")
        pytest.skip(reason)
    clusters = pg_clusters.ReplicaPair().start()
    clusters.create_database("biobank")
    databases.migrate(clusters.url("primary", "biobank"))
    yield clusters
    clusters.stop()


@pytest.fixture
def app(pair):
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": pair.url("primary", "biobank"),
                      "DATABASE_REPLICA_URL": pair.url("replica", "biobank")})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
        app.extensions["replica_engine"].dispose()
    pair.resume_replay()


def _catalogue_total(client, **headers):
    answer = client.get("/api/v1/catalogue?sample_type=plasma", headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json["total"]


def _fhir_found(api, barcode):
    answer = api.get(f"/fhir/Specimen?identifier={barcode}")
    assert answer.status_code == 200, answer.json
    return answer.json["total"]


def test_reads_come_from_the_replica_and_a_writer_reads_its_own_writes(app, pair):
    make = Factory(app)
    make.tank(racks=1, boxes_per_rack=1, rows=5, cols=5)
    make.sample(barcode="RR-0001")
    researcher = make.api_client("researcher")
    technician = make.api_client("technician")
    pair.wait_for_replay()
    assert _catalogue_total(researcher.client, **researcher.headers) == 1

    pair.pause_replay()
    stored = technician.post("/samples", json={"barcode": "RR-0002", "sample_type": "plasma", "donor": "D0002",
                                               "location": {"strategy": "compact"}})
    assert stored.status_code == 201, stored.json
    # the researcher did not write: the replica answers, and it has not replayed the new tube yet
    assert _catalogue_total(researcher.client, **researcher.headers) == 1
    # the technician wrote it and finds it at once: the replica is behind them, the primary answers
    assert _fhir_found(technician, "RR-0002") == 1

    pair.resume_replay()
    pair.wait_for_replay()
    assert _catalogue_total(researcher.client, **researcher.headers) == 2


def test_a_browser_session_reads_its_own_writes(app, pair):
    make = Factory(app)
    make.tank(racks=1, boxes_per_rack=1, rows=5, cols=5)
    make.sample(barcode="RB-0001")
    manager = make.user("manager")
    pair.wait_for_replay()
    browser = app.test_client()
    assert browser.post("/login", data={"username": manager.username, "password": PASSWORD}).status_code == 302
    pair.wait_for_replay()
    pair.pause_replay()
    # another writer's tube stays unseen on the replica ...
    other = make.api_client("technician")
    assert other.post("/samples", json={"barcode": "RB-0002", "sample_type": "plasma",
                                        "location": {"strategy": "compact"}}).status_code == 201
    assert browser.get("/api/v1/fhir/Specimen?identifier=RB-0002").json["total"] == 0
    # ... until the manager writes something: from then on their reads come from the primary
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/account").get_data(as_text=True)).group(1)
    corrected = browser.patch("/api/v1/samples/RB-0001", json={"notes": "checked", "reason": "typo"},
                              headers={"X-CSRFToken": token})
    assert corrected.status_code == 200, corrected.json
    assert browser.get("/api/v1/fhir/Specimen?identifier=RB-0002").json["total"] == 1


def test_a_replica_that_does_not_answer_is_passed_over(app, pair):
    make = Factory(app)
    make.tank(racks=1, boxes_per_rack=1, rows=5, cols=5)
    make.sample(barcode="RD-0001")
    researcher = make.api_client("researcher")
    pair.stop_replica()
    try:
        assert _catalogue_total(researcher.client, **researcher.headers) >= 1
    finally:
        pair.start_replica()
