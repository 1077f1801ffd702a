"""storage: the counters above a box are applied at commit deepest first (racks, then tanks, sites)

Migration 0017 applied a transaction's pending counter changes in container id
order. A writer holds its box's row from the change on, though, and the rows
above it have lower ids as a rule, so a move (which locked its containers in id
order) and a store into the box it moved could each hold what the other waited
for. Every writer now takes container rows in one order, from the leaves up and
by id within a level (storage.models.leaf_first), and so does this function.

Revision ID: 0018
Revises: 0017
"""
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_APPLY = """
    CREATE OR REPLACE FUNCTION container_counts_apply() RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
        pending record;
    BEGIN
        IF NOT EXISTS (SELECT FROM container_count_pending) THEN
            RETURN;  -- the common case at a custody event's commit: nothing, or already applied
        END IF;
        FOR pending IN SELECT p.container_id, sum(p.d_used) AS d_used, sum(p.d_held) AS d_held
                         FROM container_count_pending p JOIN container c ON c.id = p.container_id
                        GROUP BY p.container_id, c.lineage
                        ORDER BY {order} LOOP
            IF pending.d_used <> 0 OR pending.d_held <> 0 THEN
                UPDATE container SET used = used + pending.d_used, held = held + pending.d_held
                 WHERE id = pending.container_id;
            END IF;
        END LOOP;
        DELETE FROM container_count_pending;
    END $$"""


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(_APPLY.format(order="length(c.lineage) - length(replace(c.lineage, '/', '')) DESC, p.container_id"))


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(_APPLY.format(order="p.container_id"))
