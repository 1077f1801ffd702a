"""Shipments tell the other end by e-mail, through a real SMTP server (aiosmtpd): the receiving
site's staff when it leaves, the sending site's staff when its receipt is closed."""
from biobank.auth.service import set_email
from biobank.extensions import db
from biobank.mail import sender

from ..mail.conftest import _test_thread_reads_lightly, mail_to, smtp_server  # noqa: F401


def test_dispatch_mails_the_receivers_and_the_closed_receipt_mails_the_senders(network, make, smtp_server,
                                                                              mail_to):
    mailbox, port = smtp_server()
    mail_to(port)
    for username in ("tech_main", "mgr_main", "tech_reg", "mgr_reg"):
        set_email(make.admin, username, f"{username}@hospital.example")
    db.session.commit()
    make.sample("ML-T1", box=network.reg_boxes[0], position="A1")
    make.sample("ML-T2", box=network.reg_boxes[0], position="A2")
    reg, main = network.api("tech_reg"), network.api("tech_main")
    shipment = reg.post("/shipments", json={"from_site": network.regional.id, "to_site": network.main.id,
                                            "condition": "dry_ice", "courier": "UzPost", "tracking": "TRK-9"}).json
    for barcode in ("ML-T1", "ML-T2"):
        assert reg.post(f"/shipments/{shipment['id']}/items", json={"barcode": barcode}).status_code == 200
    assert not mailbox.messages                                   # packing tells nobody
    assert reg.post(f"/shipments/{shipment['id']}/dispatch").status_code == 200
    sender.wait_for_deliveries()
    (recipients, message), = mailbox.wait_for(1)
    assert sorted(recipients) == ["mgr_main@hospital.example", "tech_main@hospital.example"]
    assert shipment["code"] in message["Subject"] and "TRK-9" in message.get_payload()

    assert main.post(f"/shipments/{shipment['id']}/receive", json={"barcode": "ML-T1"}).status_code == 200
    closed = main.post(f"/shipments/{shipment['id']}/close", json={"missing": ["ML-T2"], "unexpected": []})
    assert closed.status_code == 200, closed.json
    sender.wait_for_deliveries()
    recipients, message = mailbox.wait_for(2)[1]
    assert sorted(recipients) == ["mgr_reg@hospital.example", "tech_reg@hospital.example"]
    assert "missing: ML-T2" in message.get_payload() and "1 received" in message.get_payload()
