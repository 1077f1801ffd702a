"""held positions: a checked-out tube keeps its place; due-back times

The home columns of a sample become its place: set while it is stored (equal
to its location) and while it is checked out with its position held, cleared
when the place is given up (discarded, shipped, consumed, released, returned
elsewhere). A unique constraint on them lets the database refuse a second
occupant of a held position. Containers count held positions apart from used
ones, and open boxes are those with room beyond both.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_OLD_OPEN = 'rows IS NOT NULL AND used < capacity'
_NEW_OPEN = 'rows IS NOT NULL AND used + held < capacity'


def upgrade():
    with op.batch_alter_table('container', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('sample', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_back', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('checked_out_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('checked_out_by', sa.String(length=64), nullable=True))

    # A stored sample's place is where it is; a sample that is neither stored
    # nor checked out has none.
    op.execute("UPDATE sample SET home_container_id = container_id, home_row = pos_row, home_col = pos_col "
               "WHERE container_id IS NOT NULL")
    op.execute("UPDATE sample SET home_container_id = NULL, home_row = NULL, home_col = NULL "
               "WHERE container_id IS NULL AND status <> 'checked_out'")
    # A checked-out tube whose old position was given to another tube lost its
    # place before places were held: it keeps none (the lowest id wins a tie).
    op.execute("UPDATE sample SET home_container_id = NULL, home_row = NULL, home_col = NULL "
               "WHERE container_id IS NULL AND home_container_id IS NOT NULL AND EXISTS ("
               "SELECT 1 FROM sample other WHERE other.home_container_id = sample.home_container_id "
               "AND other.home_row = sample.home_row AND other.home_col = sample.home_col "
               "AND (other.container_id IS NOT NULL OR other.id < sample.id))")
    op.execute("UPDATE container SET held = (SELECT count(*) FROM sample JOIN container box "
               "ON box.id = sample.home_container_id WHERE sample.container_id IS NULL "
               "AND box.lineage LIKE container.lineage || '%')")

    with op.batch_alter_table('sample', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_sample_home', ['home_container_id', 'home_row', 'home_col'])
        batch_op.create_index('ix_sample_due_back', ['due_back'], unique=False)
    with op.batch_alter_table('container', schema=None) as batch_op:
        batch_op.drop_index('ix_container_open_boxes', sqlite_where=sa.text(_OLD_OPEN),
                            postgresql_where=sa.text(_OLD_OPEN))
        batch_op.create_index('ix_container_open_boxes', ['id'], unique=False, sqlite_where=sa.text(_NEW_OPEN),
                              postgresql_where=sa.text(_NEW_OPEN))


def downgrade():
    with op.batch_alter_table('container', schema=None) as batch_op:
        batch_op.drop_index('ix_container_open_boxes', sqlite_where=sa.text(_NEW_OPEN),
                            postgresql_where=sa.text(_NEW_OPEN))
        batch_op.create_index('ix_container_open_boxes', ['id'], unique=False, sqlite_where=sa.text(_OLD_OPEN),
                              postgresql_where=sa.text(_OLD_OPEN))
    with op.batch_alter_table('sample', schema=None) as batch_op:
        batch_op.drop_index('ix_sample_due_back')
        batch_op.drop_constraint('uq_sample_home', type_='unique')
        batch_op.drop_column('checked_out_by')
        batch_op.drop_column('checked_out_at')
        batch_op.drop_column('due_back')
    with op.batch_alter_table('container', schema=None) as batch_op:
        batch_op.drop_column('held')
