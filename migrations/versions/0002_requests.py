"""requests tables

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'research_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('purpose', sa.Text(), nullable=False),
        sa.Column('ethics_reference', sa.String(length=120), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('requester_id', sa.Integer(), nullable=True),
        sa.Column('requester', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('submitted_at', sa.DateTime(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decision_reason', sa.Text(), nullable=True),
        sa.Column('picking_started_at', sa.DateTime(), nullable=True),
        sa.Column('shipped_at', sa.DateTime(), nullable=True),
        sa.Column('shipped_by', sa.String(length=64), nullable=True),
        sa.Column('recipient', sa.String(length=300), nullable=True),
        sa.Column('courier', sa.String(length=120), nullable=True),
        sa.Column('tracking', sa.String(length=120), nullable=True),
        sa.Column('completed_at', sa.DateTime(), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(), nullable=True),
        sa.Column('cancelled_by', sa.String(length=64), nullable=True),
        sa.Column('cancel_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['requester_id'], ['user_account.id'],
                                name=op.f('fk_research_request_requester_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_research_request')),
    )
    with op.batch_alter_table('research_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_research_request_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_research_request_requester_id'), ['requester_id'], unique=False)

    op.create_table(
        'request_item',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('sample_id', sa.Integer(), nullable=False),
        sa.Column('holds', sa.Boolean(), nullable=False),
        sa.Column('picked_at', sa.DateTime(), nullable=True),
        sa.Column('picked_by', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['research_request.id'],
                                name=op.f('fk_request_item_request_id_research_request')),
        sa.ForeignKeyConstraint(['sample_id'], ['sample.id'], name=op.f('fk_request_item_sample_id_sample')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_request_item')),
        sa.UniqueConstraint('request_id', 'sample_id', name='uq_request_item_sample'),
    )
    with op.batch_alter_table('request_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_item_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_request_item_sample_id'), ['sample_id'], unique=False)
        # At most one request holds (has reserved or taken) a given sample.
        batch_op.create_index('uq_request_item_holding', ['sample_id'], unique=True,
                              sqlite_where=sa.text('holds'), postgresql_where=sa.text('holds'))


def downgrade():
    with op.batch_alter_table('request_item', schema=None) as batch_op:
        batch_op.drop_index('uq_request_item_holding', sqlite_where=sa.text('holds'),
                            postgresql_where=sa.text('holds'))
        batch_op.drop_index(batch_op.f('ix_request_item_sample_id'))
        batch_op.drop_index(batch_op.f('ix_request_item_request_id'))
    op.drop_table('request_item')
    with op.batch_alter_table('research_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_research_request_requester_id'))
        batch_op.drop_index(batch_op.f('ix_research_request_status'))
    op.drop_table('research_request')
