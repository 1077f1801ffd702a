"""monitoring: hourly extremes of each container's readings, for month and year charts

A month of one-minute readings is 43,200 rows; its chart reads the 720 hourly rows
instead (primary key container, hour). Filled here from the readings already stored.

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'monitor_reading_hour',
        sa.Column('container_id', sa.Integer(), nullable=False),
        sa.Column('hour', sa.DateTime(), nullable=False),
        sa.Column('t_min', sa.Float(), nullable=True),
        sa.Column('t_max', sa.Float(), nullable=True),
        sa.Column('l_min', sa.Float(), nullable=True),
        sa.Column('l_max', sa.Float(), nullable=True),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['container_id'], ['container.id'],
                                name=op.f('fk_monitor_reading_hour_container_id_container')),
        sa.PrimaryKeyConstraint('container_id', 'hour', name=op.f('pk_monitor_reading_hour')),
    )
    if op.get_bind().dialect.name == 'postgresql':
        hour = "date_trunc('hour', at)"
    else:  # the text form SQLAlchemy stores on SQLite
        hour = "strftime('%Y-%m-%d %H:00:00.000000', at)"
    op.execute(f"""INSERT INTO monitor_reading_hour
        (container_id, hour, t_min, t_max, l_min, l_max, count)
        SELECT container_id, {hour}, min(temperature_c), max(temperature_c), min(ln2_level), max(ln2_level),
               count(*)
        FROM monitor_reading GROUP BY container_id, {hour}""")


def downgrade():
    op.drop_table('monitor_reading_hour')
