"""languages: a user's own language and a site's default language

Both nullable: no setting means the next choice down (the browser's Accept-Language,
then the site's default, then the application's default language).

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    with op.batch_alter_table('site') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('site') as batch:
        batch.drop_column('language')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('language')
