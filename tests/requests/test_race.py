"""Two managers approve two requests sharing a sample at the same moment (PostgreSQL)."""
import threading

import pytest
from sqlalchemy import select

from biobank.auth.service import issue_token
from biobank.core.actor import Actor
from biobank.custody.models import CustodyEvent
from biobank.custody.service import verify
from biobank.extensions import db
from biobank.requests import service

ROUNDS = 5


@pytest.mark.postgres
def test_concurrent_approvals_of_a_shared_sample(app, make):
    box = make.box(rows=5, cols=5)
    researcher = Actor.of(make.user("researcher"), via="cli")
    tokens = []
    for _ in range(2):
        token, _ = issue_token(make.user("manager"), 1)
        tokens.append(token)
    pairs = []
    for n in range(ROUNDS):
        shared = make.sample(f"RACE-{n}-S", box=box, position=f"{'ABCDE'[n]}1").barcode
        own = [make.sample(f"RACE-{n}-{side}", box=box, position=f"{'ABCDE'[n]}{col}").barcode
               for side, col in (("a", 2), ("b", 3))]
        ids = []
        for barcodes in ([own[0], shared], [shared, own[1]]):
            request = service.create_request(researcher, title="race", purpose="p", ethics_reference="EC",
                                             samples=barcodes)
            service.submit_request(researcher, request.id)
            ids.append(request.id)
        db.session.commit()
        pairs.append((shared, ids))
    db.session.remove()

    for shared, ids in pairs:
        barrier = threading.Barrier(2)
        answers = {}

        def approve(token, request_id):
            client = app.test_client()
            barrier.wait()
            response = client.post(f"/api/v1/requests/{request_id}/approve", json={},
                                   headers={"Authorization": f"Bearer {token}"})
            answers[request_id] = (response.status_code, response.get_json())

        threads = [threading.Thread(target=approve, args=(token, request_id))
                   for token, request_id in zip(tokens, ids)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        statuses = sorted(status for status, _ in answers.values())
        assert statuses == [200, 409], answers
        loser = next(body for status, body in answers.values() if status == 409)
        assert loser["code"] == "sample_unavailable" and shared in loser["message"]
        winner_id = next(rid for rid, (status, _) in answers.items() if status == 200)
        loser_id = next(rid for rid, (status, _) in answers.items() if status == 409)

        with app.app_context():
            reserved = db.session.execute(select(CustodyEvent).where(
                CustodyEvent.sample_barcode == shared, CustodyEvent.action == "sample.reserved")).scalars().all()
            assert [e.request_id for e in reserved] == [winner_id]
            loser_request = service.get_request(loser_id)
            assert loser_request.status == "submitted"
            # The loser's other sample was not left half-reserved.
            assert {i.sample.status for i in loser_request.items if i.sample.barcode != shared} == {"available"}
            assert verify().ok
