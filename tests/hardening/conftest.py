"""Shared helpers of the hardening tests."""
import pytest
from sqlalchemy import func, select

from biobank.custody import service as custody
from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.samples.models import Sample


def count(model, *where) -> int:
    query = select(func.count()).select_from(model)
    for clause in where:
        query = query.where(clause)
    return db.session.execute(query).scalar_one()


def events(action=None) -> int:
    return count(CustodyEvent, *( [CustodyEvent.action == action] if action else []))


def samples() -> int:
    return count(Sample)


def chain_ok() -> bool:
    db.session.rollback()
    result = custody.verify()
    db.session.rollback()
    return result.ok


@pytest.fixture
def box(make):
    return make.box(rows=4, cols=4)


@pytest.fixture(autouse=True)
def _test_thread_reads_lightly():
    """The test's own session must not hold SQLite's write lock while requests of a second app
    (another 'worker') or other threads write: its reads begin with a plain BEGIN."""
    from biobank.core.db import write_intent
    token = write_intent.set(False)
    yield
    write_intent.reset(token)


def idle():
    """End the test session's transaction so other connections can write (SQLite)."""
    db.session.commit()
