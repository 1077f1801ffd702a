"""Property-based fuzzing of the whole HTTP API against its own OpenAPI document.

schemathesis generates requests for every operation (valid ones and deliberately
invalid ones), sends them in-process to the Flask app as an admin, and checks
every answer: never a server error, a documented status, the documented content
type and a body that matches the documented schema.
"""
import math
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from biobank.auth.service import issue_token
from biobank.extensions import db

MIN_REQUESTS = 1000
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

pytestmark = pytest.mark.sqlite_only  # in-process WSGI on a fresh SQLite database (fast, hermetic)


def _seed(make):
    tank = make.tank(racks=1, boxes_per_rack=2, rows=4, cols=4, name="Fuzz tank")
    box, other = make.boxes_of(tank)
    make.sample("FZ-1", box=box, position="A1", volume="2.0")
    make.sample("FZ-2", box=box, position="A2", donor="D0002")
    make.sample("FZ-3", box=other, position="B1", sample_type="dna")
    admin = make._user_of("admin")
    return admin


def test_every_operation_answers_as_documented(app, make):
    admin = _seed(make)
    token, _ = issue_token(admin, 24)
    db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    per_operation = math.ceil(MIN_REQUESTS * 1.5 / len(operations))
    sent = {"total": 0}
    statuses = Counter()
    failures = []

    for operation in operations:
        strategy = st.one_of(operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                             operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
        revoking = operation.method.upper() == "DELETE" and operation.path == "/api/v1/auth/token"

        @settings(max_examples=per_operation, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), phases=["explicit", "generate"])
        @given(case=strategy)
        def run(case):
            bearer = issue_token(admin, 1)[0] if revoking else token  # do not revoke the fuzzer's own token
            if revoking:
                db.session.commit()
            sent["total"] += 1
            try:
                response = case.call(headers={"Authorization": f"Bearer {bearer}"})
                statuses[response.status_code] += 1
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:  # collect, so one run reports every operation that misbehaves
                label = f"{operation.method.upper()} {operation.path}"
                if not any(f.startswith(label + ":") for f in failures):
                    failures.append(f"{label}: {str(exc)[:1500]}")
            db.session.rollback()

        run()
    assert not failures, "\n\n".join(failures[:20])
    assert sent["total"] >= MIN_REQUESTS
    # The fuzzer reached the application, not only its argument parsing: some changes succeeded.
    assert statuses[200] > 50 and statuses[201] > 5 and statuses[422] > 50, statuses
    print(f"{sent['total']} requests over {len(operations)} operations: {dict(sorted(statuses.items()))}")


# -- the stateful phase: sequences of linked operations ---------------------------------------------
STATEFUL_SCENARIOS = 30   # hypothesis examples, each a sequence of up to STATEFUL_STEPS linked calls
STATEFUL_STEPS = 8


def test_linked_operations_answer_as_documented(app, make):
    """Schemathesis chains operations through the links it finds between them (a created sample's
    barcode into its lookup, move, check-out, history, label; a request's id into its actions; a
    container's id into its map ...), so calls reach real records instead of random ids. Every answer
    is checked as above."""
    admin = _seed(make)
    token, _ = issue_token(admin, 24)
    db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    base = schema.as_state_machine()
    calls, failures = Counter(), []

    class LinkedCalls(base):
        def get_call_kwargs(self, case):
            bearer = token
            if case.operation.method.upper() == "DELETE" and case.operation.path == "/api/v1/auth/token":
                bearer = issue_token(admin, 1)[0]  # never revoke the fuzzer's own token
                db.session.commit()
            return {"headers": {"Authorization": f"Bearer {bearer}"}}

        def validate_response(self, response, case, additional_checks=(), **kwargs):
            label = f"{case.operation.method.upper()} {case.operation.path}"
            calls[(label, response.status_code)] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:  # collect every misbehaving operation, then fail
                if not any(f.startswith(label + ":") for f in failures):
                    failures.append(f"{label}: {str(exc)[:1500]}")
            db.session.rollback()

    LinkedCalls.run(settings=settings(max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS,
                                      deadline=None, database=None, derandomize=True,
                                      suppress_health_check=list(HealthCheck)))
    assert not failures, "\n\n".join(failures[:20])
    total = sum(calls.values())
    reached = {label for (label, status), n in calls.items() if 200 <= status < 300 and "{" in label}
    assert total >= STATEFUL_SCENARIOS * 2, calls
    # links carried real values: operations on one record (path parameters) succeeded
    assert len(reached) >= 3, sorted(calls.items())
    print(f"{total} linked calls; operations on a real record that succeeded: {sorted(reached)}")
