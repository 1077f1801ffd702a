"""custody: on PostgreSQL a single event is chained when its transaction commits

An event is written into custody_pending during the transaction, with the text
that is hashed cut where its sequence number goes. A deferred constraint trigger
moves the transaction's pending events into custody_event at COMMIT, in the
order they were written: it locks the chain head, numbers and hashes each
event, advances the head and removes the pending rows. The head is
then locked only while the commit itself runs inside the server, not across the
rest of the transaction or a round trip to the application, so concurrent
writers no longer queue behind one another's work.

custody_pending is UNLOGGED: its rows never outlive their transaction (every
commit moves them out), so they need no WAL and no replica.

Revision ID: 0016
Revises: 0015
"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# The event columns the application fills in; seq, prev_hash and hash come from the head.
EVENT_COLUMNS = ("at", "actor", "actor_role", "via", "action", "subject_type", "subject", "sample_barcode",
                 "container_id", "request_id", "from_location", "to_location", "reason", "changes")


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return  # SQLite has one writer at a time: events are chained as they are written
    op.execute("""
        CREATE UNLOGGED TABLE custody_pending (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at timestamp without time zone NOT NULL,
            actor varchar(64) NOT NULL,
            actor_role varchar(16) NOT NULL,
            via varchar(8) NOT NULL,
            action varchar(48) NOT NULL,
            subject_type varchar(16) NOT NULL,
            subject varchar(64) NOT NULL,
            sample_barcode varchar(64),
            container_id integer,
            request_id integer,
            from_location varchar(900),
            to_location varchar(900),
            reason text,
            changes text NOT NULL,
            text_before text NOT NULL,
            text_after text NOT NULL
        )""")
    columns = ", ".join(EVENT_COLUMNS)
    values = ", ".join(f"pending.{name}" for name in EVENT_COLUMNS)
    op.execute(f"""
        CREATE FUNCTION custody_chain_one(pending custody_pending) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            next_seq bigint;
            prev text;
            sealed text;
        BEGIN
            SELECT seq + 1, hash INTO next_seq, prev FROM custody_head WHERE id = 1 FOR UPDATE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'the custody chain has no head row';
            END IF;
            sealed := encode(sha256(convert_to(pending.text_before || next_seq::text || pending.text_after
                                               || prev, 'UTF8')), 'hex');
            INSERT INTO custody_event (seq, prev_hash, hash, {columns})
            VALUES (next_seq, prev, sealed, {values});
            UPDATE custody_head SET seq = next_seq, hash = sealed WHERE id = 1;
        END $$""")
    # What a transaction does before it locks the chain's head, at commit or inside it: nothing
    # here; migration 0017 applies the counters it left for its commit.
    op.execute("""
        CREATE FUNCTION custody_before_chain() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
        END $$""")
    # Every event this transaction wrote as pending and has not chained yet, in the order it
    # wrote them (other transactions' rows are not visible to it; none outlives its transaction):
    # called before events are appended inside the transaction.
    op.execute("""
        CREATE FUNCTION custody_chain_pending() RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            pending custody_pending;
        BEGIN
            PERFORM custody_before_chain();
            FOR pending IN SELECT * FROM custody_pending ORDER BY id LOOP
                DELETE FROM custody_pending WHERE id = pending.id;
                PERFORM custody_chain_one(pending);
            END LOOP;
        END $$""")
    # Rows fire in the order they were written; one already chained by custody_chain_pending is
    # gone and passed over.
    op.execute("""
        CREATE FUNCTION custody_pending_seal() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            pending custody_pending;
        BEGIN
            PERFORM custody_before_chain();
            DELETE FROM custody_pending WHERE id = NEW.id RETURNING * INTO pending;
            IF FOUND THEN
                PERFORM custody_chain_one(pending);
            END IF;
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE CONSTRAINT TRIGGER custody_pending_sealed_at_commit AFTER INSERT ON custody_pending
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION custody_pending_seal()""")


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP TRIGGER custody_pending_sealed_at_commit ON custody_pending")
    op.execute("DROP FUNCTION custody_pending_seal()")
    op.execute("DROP FUNCTION custody_chain_pending()")
    op.execute("DROP FUNCTION custody_chain_one(custody_pending)")
    op.execute("DROP FUNCTION custody_before_chain()")
    op.execute("DROP TABLE custody_pending")
