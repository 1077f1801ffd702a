"""E-mail through a real SMTP server (aiosmtpd): queued in the transaction, sent after the
commit, nothing sent for a rolled-back change, retried with back-off while the server is
down, refused addresses kept and retried on demand."""
import logging

from sqlalchemy import select

from biobank.core.ports import free_port
from biobank.core.time import utcnow
from biobank.extensions import db
from biobank.mail import outbox, sender
from biobank.mail.models import OutboxMessage


def _outbox():
    rows = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars().all()
    db.session.commit()
    return rows


def _request(api, make, barcodes):
    box = make.box(rows=2, cols=2)
    for position, barcode in zip(("A1", "A2", "B1", "B2"), barcodes):
        make.sample(barcode, box=box, position=position, volume="1.0")
    created = api("researcher").post("/requests", json={"title": "Breast cancer cohort", "purpose": "RNA-seq",
                                                        "ethics_reference": "EC-2025-14", "samples": barcodes})
    assert created.status_code == 201, created.json
    return created.json["id"]


def test_request_mails_go_out_after_the_commit(app, make, api, people, smtp_server, mail_to):
    mailbox, port = smtp_server()
    mail_to(port)
    request_id = _request(api, make, ["ML-1", "ML-2"])
    assert not _outbox()                                   # a draft tells nobody

    assert api("researcher").post(f"/requests/{request_id}/submit").status_code == 200
    sender.wait_for_deliveries()
    (recipients, message), = mailbox.wait_for(1)
    assert sorted(recipients) == ["manager@hospital.example", "second@hospital.example"]
    assert message["Subject"] == f"Request {request_id} submitted: Breast cancer cohort"
    assert message["From"] == "biobank@hospital.example"
    assert "for 2 samples" in message.get_payload() and "EC-2025-14" in message.get_payload()
    assert f"https://biobank.hospital.example/requests/{request_id}" in message.get_payload()

    assert api("manager").post(f"/requests/{request_id}/approve", json={}).status_code == 200
    sender.wait_for_deliveries()
    recipients, message = mailbox.wait_for(2)[1]
    assert recipients == ["researcher@hospital.example"]
    assert message["Subject"] == f"Request {request_id} approved: Breast cancer cohort"
    assert [(m.event, m.status, m.attempts) for m in _outbox()] == [
        ("request.submitted", "sent", 1), ("request.approved", "sent", 1)]

    other = _request(api, make, ["ML-3"])
    api("researcher").post(f"/requests/{other}/submit")
    sender.wait_for_deliveries()
    mailbox.wait_for(3)                                    # each commit sends on a thread of its own
    assert api("manager").post(f"/requests/{other}/reject", json={"reason": "No ethics approval for RNA"}
                               ).status_code == 200
    sender.wait_for_deliveries()
    recipients, message = mailbox.wait_for(4)[3]
    assert recipients == ["researcher@hospital.example"] and "rejected" in message["Subject"]
    assert "No ethics approval for RNA" in message.get_payload()


def test_nothing_is_sent_when_the_transaction_rolls_back(app, make, api, people, smtp_server, mail_to):
    mailbox, port = smtp_server()
    mail_to(port)
    first, second = _request(api, make, ["RB-1"]), None
    second = api("researcher").post("/requests", json={"title": "Same tube", "purpose": "p",
                                                       "ethics_reference": "EC-9", "samples": ["RB-1"]}).json["id"]
    for request_id in (first, second):
        api("researcher").post(f"/requests/{request_id}/submit")
    sender.wait_for_deliveries()
    mailbox.wait_for(2)
    assert api("manager").post(f"/requests/{first}/approve", json={}).status_code == 200
    refused = api("manager").post(f"/requests/{second}/approve", json={})   # its tube is reserved now: 409
    assert refused.status_code == 409
    sender.wait_for_deliveries()
    assert [m.event for m in _outbox()] == ["request.submitted", "request.submitted", "request.approved"]

    outbox.notify("test.rolled_back", "Never", "This change was rolled back.", to=["x@hospital.example"])
    db.session.rollback()
    assert sender.send_due()["sent"] == 0
    assert len(mailbox.wait_for(3)) == 3 and all("Never" != m["Subject"] for _, m in mailbox.messages)
    assert len(_outbox()) == 3


def test_a_server_that_is_down_then_up_gets_every_message_once(app, make, api, people, smtp_server, mail_to,
                                                                 caplog, runner):
    port = free_port()                                     # nobody listens there yet
    mail_to(port)
    request_id = _request(api, make, ["DN-1"])
    with caplog.at_level(logging.WARNING, logger="biobank.mail.sender"):
        assert api("researcher").post(f"/requests/{request_id}/submit").status_code == 200   # the request is fine
        sender.wait_for_deliveries()
    (waiting,) = _outbox()
    assert (waiting.status, waiting.attempts) == ("pending", 1) and "Connection" in waiting.last_error
    assert waiting.next_attempt_at > utcnow()
    assert any("not sent (attempt 1)" in r.getMessage() for r in caplog.records)

    mailbox, _ = smtp_server(port=port)                    # the server comes up
    assert sender.send_due() == {"sent": 0, "retry": 0, "failed": 0}     # still waiting for its back-off
    later = utcnow() + sender.backoff(1)
    assert sender.send_due(now=later)["sent"] == 1
    assert sender.send_due(now=later + sender.backoff(5))["sent"] == 0   # sent once, not again
    assert len(mailbox.wait_for(1)) == 1 and mailbox.messages[0][1]["X-Biobank-Event"] == "request.submitted"
    (sent,) = _outbox()
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)


def test_the_worker_command_refused_addresses_and_retry(app, make, people, smtp_server, mail_to, runner):
    mailbox, port = smtp_server(refuse={"gone@hospital.example"})
    mail_to(port, after_commit=False)
    outbox.notify("alarm.opened", "Tank 03: LN2 level low", "Refill Tank 03.", to=["technician@hospital.example"])
    outbox.notify("capacity.alert", "Tank 05 is 95% full", "Plan a new tank.", to=["gone@hospital.example"])
    db.session.commit()
    assert mailbox.messages == [] and [m.status for m in _outbox()] == ["pending", "pending"]

    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 1, to retry 0, refused 1" in result.output
    assert [rcpts for rcpts, _ in mailbox.wait_for(1)] == [["technician@hospital.example"]]
    status = runner.invoke(args=["mail", "status"])
    assert "pending 0, sent 1, failed 1" in status.output and "gone@hospital.example" in status.output
    assert "550" in status.output

    mailbox.refuse.clear()                                 # the mailbox exists again
    assert "1 message(s) queued again" in runner.invoke(args=["mail", "retry"]).output
    assert "sent 1," in runner.invoke(args=["mail", "send"]).output
    assert [rcpts for rcpts, _ in mailbox.wait_for(2)][1] == ["gone@hospital.example"]


def test_without_smtp_mail_waits_in_the_outbox(app, make, people, runner):
    outbox.notify("request.submitted", "Subject", "Body", roles=["manager"])
    db.session.commit()
    (message,) = _outbox()
    assert message.addresses == ["manager@hospital.example", "second@hospital.example"]
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code != 0 and "BIOBANK_SMTP_HOST" in result.output
    assert _outbox()[0].status == "pending"


def test_user_email_is_set_and_checked(app, make, runner):
    user = make.user("manager")
    assert runner.invoke(args=["users", "email", user.username, "not-an-address"]).exit_code != 0
    result = runner.invoke(args=["users", "email", user.username, "m@hospital.example"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert user.email == "m@hospital.example"


def test_an_alarm_that_opens_mails_the_staff_once(app, make, api, people, smtp_server, mail_to):
    from datetime import timedelta
    mailbox, port = smtp_server()
    mail_to(port)
    tank = make.tank(name="Tank 07", storage_temperature="LN2_vapor")
    manager = api("manager")
    assert manager.patch(f"/containers/{tank.id}/limits", json={"max_temperature_c": -150}).status_code == 200
    start = utcnow() - timedelta(minutes=10)
    warm = [{"at": (start + timedelta(minutes=m)).isoformat() + "Z", "sensor": "probe-1", "temperature_c": -120}
            for m in range(3)]
    assert api("technician").post(f"/containers/{tank.id}/readings", json=warm).status_code in (200, 201)
    sender.wait_for_deliveries()
    (recipients, message), = mailbox.wait_for(1)
    assert sorted(recipients) == ["manager@hospital.example", "second@hospital.example",
                                  "technician@hospital.example"]
    assert message["Subject"].startswith("ALARM: ") and "Tank 07" in message["Subject"]
    assert [m.event for m in _outbox()] == ["alarm.opened"]   # three warm readings, one alarm, one mail


def test_capacity_alerts_mail_the_managers_once_a_day(app, make, people, smtp_server, mail_to, runner):
    mailbox, port = smtp_server()
    mail_to(port)
    tank = make.tank(racks=1, boxes_per_rack=1, rows=2, cols=2, name="Tank Full")
    box = make.boxes_of(tank)[0]
    for position in ("A1", "A2", "B1"):
        make.sample(f"CAP-{position}", box=box, position=position)
    quiet = runner.invoke(args=["capacity", "alert", "--threshold", "0.9"])
    assert quiet.exit_code == 0 and "0 capacity alert(s)" in quiet.output      # 75 % full: nothing to say
    make.sample("CAP-B2", box=box, position="B2")
    loud = runner.invoke(args=["capacity", "alert", "--threshold", "0.9"])
    assert loud.exit_code == 0, loud.output
    assert "Tank Full" in loud.output
    sender.wait_for_deliveries()
    sender.send_due()
    messages = mailbox.wait_for(1)
    subjects = [message["Subject"] for _, message in messages]
    assert any("Tank Full" in s for s in subjects)
    recipients = {address for to, _ in messages for address in to}
    assert {"manager@hospital.example", "second@hospital.example"} <= recipients
    assert "technician@hospital.example" not in recipients
    count = len(_outbox())
    again = runner.invoke(args=["capacity", "alert", "--threshold", "0.9"])
    assert "0 capacity alert(s)" in again.output and len(_outbox()) == count   # not again the same day
