"""storage: on PostgreSQL the counters above a box (rack, tank, site) move when the transaction commits

Every check-out, return and placement changes `used` or `held` of its box and of
every container above it, so the site's row (and its tanks' and racks') was
locked by each of them from the change to the end of the transaction: writers
anywhere in a site queued behind one another. The box's own row is still
updated at once (it is what keeps two writers of one box and a move of that box
apart); the deltas of the containers above it go into container_count_pending,
UNLOGGED like custody_pending, and a deferred trigger adds them up and applies
them, in container id order, when the transaction commits. The custody chain's
seal (migration 0016) applies them first too, so every transaction takes these
rows before the chain's head (custody_before_chain), at commit and inside a transaction alike,
and none waits for another the other way round.

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# What a transaction does before it locks the custody chain's head (migration 0016).
_BEFORE_CHAIN = """
        CREATE OR REPLACE FUNCTION custody_before_chain() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            {body}
        END $$"""


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return  # SQLite has one writer at a time: counters move as the change is written
    op.execute("""
        CREATE UNLOGGED TABLE container_count_pending (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            container_id integer NOT NULL,
            d_used integer NOT NULL,
            d_held integer NOT NULL
        )""")
    # What this transaction left for its commit, summed per container and applied in id order
    # (other transactions' rows are not visible to it; none outlives its transaction).
    op.execute("""
        CREATE FUNCTION container_counts_apply() RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            pending record;
        BEGIN
            IF NOT EXISTS (SELECT FROM container_count_pending) THEN
                RETURN;  -- the common case at a custody event's commit: nothing, or already applied
            END IF;
            FOR pending IN SELECT container_id, sum(d_used) AS d_used, sum(d_held) AS d_held
                             FROM container_count_pending GROUP BY container_id ORDER BY container_id LOOP
                IF pending.d_used <> 0 OR pending.d_held <> 0 THEN
                    UPDATE container SET used = used + pending.d_used, held = held + pending.d_held
                     WHERE id = pending.container_id;
                END IF;
            END LOOP;
            DELETE FROM container_count_pending;
        END $$""")
    op.execute("""
        CREATE FUNCTION container_count_pending_applied() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM container_counts_apply();
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE CONSTRAINT TRIGGER container_count_pending_at_commit AFTER INSERT ON container_count_pending
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION container_count_pending_applied()""")
    op.execute(_BEFORE_CHAIN.format(body="PERFORM container_counts_apply();  -- the counters' rows before the head"))


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(_BEFORE_CHAIN.format(body=""))
    op.execute("DROP TRIGGER container_count_pending_at_commit ON container_count_pending")
    op.execute("DROP FUNCTION container_count_pending_applied()")
    op.execute("DROP FUNCTION container_counts_apply()")
    op.execute("DROP TABLE container_count_pending")
