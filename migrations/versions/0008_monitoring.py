"""monitoring: sensor readings, limits, alarms, tank log (refills, maintenance)

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table(
        'monitor_reading',
        sa.Column('id', _BIGINT, nullable=False),
        sa.Column('container_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('sensor', sa.String(length=64), nullable=False),
        sa.Column('temperature_c', sa.Float(), nullable=True),
        sa.Column('ln2_level', sa.Float(), nullable=True),
        sa.Column('source', sa.String(length=8), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['container_id'], ['container.id'],
                                name=op.f('fk_monitor_reading_container_id_container')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_monitor_reading')),
        sa.UniqueConstraint('container_id', 'sensor', 'at', name='uq_monitor_reading_container_sensor_at'),
    )
    op.create_index('ix_monitor_reading_container_at', 'monitor_reading', ['container_id', 'at'])

    op.create_table(
        'monitor_container',
        sa.Column('container_id', sa.Integer(), nullable=False),
        sa.Column('max_temperature_c', sa.Float(), nullable=True),
        sa.Column('min_temperature_c', sa.Float(), nullable=True),
        sa.Column('min_ln2_level', sa.Float(), nullable=True),
        sa.Column('max_silence_minutes', sa.Integer(), nullable=True),
        sa.Column('last_reading_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.Column('updated_by', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['container_id'], ['container.id'],
                                name=op.f('fk_monitor_container_container_id_container')),
        sa.PrimaryKeyConstraint('container_id', name=op.f('pk_monitor_container')),
    )

    op.create_table(
        'monitor_alarm',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('container_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('message', sa.String(length=400), nullable=False),
        sa.Column('sensor', sa.String(length=64), nullable=True),
        sa.Column('first_value', sa.Float(), nullable=True),
        sa.Column('worst_value', sa.Float(), nullable=True),
        sa.Column('last_reading_at', sa.DateTime(), nullable=True),
        sa.Column('in_range', sa.Boolean(), nullable=False),
        sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
        sa.Column('acknowledge_note', sa.Text(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['container_id'], ['container.id'],
                                name=op.f('fk_monitor_alarm_container_id_container')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_monitor_alarm')),
    )
    op.create_index('ix_monitor_alarm_container_id', 'monitor_alarm', ['container_id'])
    op.create_index('ix_monitor_alarm_closed_at', 'monitor_alarm', ['closed_at'])
    op.create_index('uq_monitor_alarm_open', 'monitor_alarm', ['container_id', 'kind'], unique=True,
                    sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))

    op.create_table(
        'monitor_tank_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('container_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('performed_by', sa.String(length=64), nullable=False),
        sa.Column('litres', sa.Float(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['container_id'], ['container.id'],
                                name=op.f('fk_monitor_tank_log_container_id_container')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_monitor_tank_log')),
    )
    op.create_index('ix_monitor_tank_log_container_at', 'monitor_tank_log', ['container_id', 'at'])


def downgrade():
    op.drop_index('ix_monitor_tank_log_container_at', table_name='monitor_tank_log')
    op.drop_table('monitor_tank_log')
    op.drop_index('uq_monitor_alarm_open', table_name='monitor_alarm')
    op.drop_index('ix_monitor_alarm_closed_at', table_name='monitor_alarm')
    op.drop_index('ix_monitor_alarm_container_id', table_name='monitor_alarm')
    op.drop_table('monitor_alarm')
    op.drop_table('monitor_container')
    op.drop_index('ix_monitor_reading_container_at', table_name='monitor_reading')
    op.drop_table('monitor_reading')
