"""reports tables: the record of custody chain verifications

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_verification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('via', sa.String(length=8), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('events_checked', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('first_bad_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('problem', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_verification')),
    )
    with op.batch_alter_table('audit_verification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_verification_at'), ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_verification_at'))
    op.drop_table('audit_verification')
