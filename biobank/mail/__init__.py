"""E-mail: an outbox table filled inside the business transaction (mail.outbox.notify),
delivered after the commit by the sender (mail.sender), retried with back-off, never lost."""
