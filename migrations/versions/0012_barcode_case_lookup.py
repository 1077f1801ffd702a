"""scan page: barcodes found regardless of case ("Did you mean ABC-001?")

An expression index on lower(barcode) of samples and containers, so the scan
page's case-only suggestion for an unknown barcode is one index lookup at any
size. Both SQLite and PostgreSQL index expressions.

Revision ID: 0012
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_sample_barcode_lower', 'sample', [sa.text('lower(barcode)')], unique=False)
    op.create_index('ix_container_barcode_lower', 'container', [sa.text('lower(barcode)')], unique=False)


def downgrade():
    op.drop_index('ix_container_barcode_lower', table_name='container')
    op.drop_index('ix_sample_barcode_lower', table_name='sample')
