"""FHIR server fixtures: the app served by a real WSGI server (werkzeug) on a free loopback
port, a validator that checks every FHIR response against the R4(B) models of
fhir.resources, and a small set of specimens with known dates, donors and types."""
import json
import threading

import pytest
from fhir.resources.R4B import get_fhir_model_class
from werkzeug.serving import make_server

from biobank.auth.service import issue_token
from biobank.extensions import db
from biobank.samples import service as samples


@pytest.fixture(autouse=True)
def _test_thread_reads_lightly():
    """The test's own session must not hold SQLite's write lock while the server threads read."""
    from biobank.core.db import write_intent
    token = write_intent.set(False)
    yield
    write_intent.reset(token)


@pytest.fixture
def fhir_server(app):
    """Base URL of the FHIR server under a real HTTP server (http://127.0.0.1:PORT/fhir)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/fhir"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def validate_resource(data: dict):
    """The resource as a fhir.resources R4B model; raises when it is not valid FHIR."""
    return get_fhir_model_class(data["resourceType"]).model_validate(data)


class Validator:
    """A requests response hook: every FHIR JSON answer is validated, and counted."""

    def __init__(self):
        self.checked = []

    def __call__(self, response, *args, **kwargs):
        assert response.headers["Content-Type"].startswith("application/fhir+json"), response.headers
        data = json.loads(response.content)
        validate_resource(data)
        self.checked.append((response.status_code, data["resourceType"], response.url))
        return response


@pytest.fixture
def validator():
    return Validator()


@pytest.fixture
def token(make):
    """token(role): a bearer token for a user of that role."""
    def issue(role):
        value, _ = issue_token(make._user_of(role), 1)
        db.session.commit()
        return value
    return issue


@pytest.fixture
def collection(make):
    """Seven specimens: an aliquot line of donor PSN-1 (collected 2024-06-15), plasma of PSN-2
    (2025-01-31 23:30 UTC), serum of PSN_3 (2025-03-01), one without a date, one discarded."""
    box = make.box(rows=4, cols=4, name="FHIR box")
    make.sample("FX-T1", box=box, position="A1", sample_type="tissue_frozen", donor="PSN-1", volume="2.0",
                unit="mL", collected_at="2024-06-15T09:00:00Z", anatomical_site="C50.9", diagnosis="C50.9",
                notes="left breast")
    samples.aliquot_sample(make.admin, "FX-T1", count=2, volume="0.5", container_id=box.id,
                           positions=["A2", "A3"])
    make.sample("FX-P1", box=box, position="B1", sample_type="plasma", donor="PSN-2",
                collected_at="2025-01-31T23:30:00Z")
    make.sample("FX-S1", box=box, position="B2", sample_type="serum", donor="PSN_3",
                collected_at="2025-03-01T12:00:00Z")
    make.sample("FX-U1", box=box, position="B3", sample_type="urine", donor="PSN-2")
    make.sample("FX-D1", box=box, position="C1", sample_type="plasma", donor="PSN-4",
                collected_at="2025-02-10T08:00:00Z")
    samples.discard_sample(make.admin, "FX-D1", reason="tube cracked")
    db.session.commit()
    return box
