"""requests: one part per site (approved and picked by that site), lines asking by criteria

A request naming samples at several sites gets one `request_part` per site;
each item belongs to the part of the site it is stored at. Existing requests
get their parts from where their samples are (or were last held), with the
request's own state. `request_criterion` holds "20 plasma, C50, collected in
2025" lines that a manager fills with matching samples.

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

PART_STATUS = {"draft": "pending", "submitted": "pending", "approved": "approved", "rejected": "rejected",
               "picking": "picking", "shipped": "shipped", "completed": "shipped", "cancelled": "cancelled"}


def upgrade():
    op.create_table(
        'request_part',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decision_reason', sa.Text(), nullable=True),
        sa.Column('shipped_at', sa.DateTime(), nullable=True),
        sa.Column('shipped_by', sa.String(length=64), nullable=True),
        sa.Column('courier', sa.String(length=120), nullable=True),
        sa.Column('tracking', sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['research_request.id'],
                                name=op.f('fk_request_part_request_id_research_request')),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_request_part_site_id_site')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_request_part')),
        sa.UniqueConstraint('request_id', 'site_id', name='uq_request_part_site'),
    )
    op.create_index(op.f('ix_request_part_request_id'), 'request_part', ['request_id'], unique=False)
    op.create_table(
        'request_criterion',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('sample_type', sa.String(length=32), nullable=True),
        sa.Column('diagnosis', sa.String(length=16), nullable=True),
        sa.Column('collected_from', sa.Date(), nullable=True),
        sa.Column('collected_to', sa.Date(), nullable=True),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('filled_at', sa.DateTime(), nullable=True),
        sa.Column('filled_by', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['research_request.id'],
                                name=op.f('fk_request_criterion_request_id_research_request')),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_request_criterion_site_id_site')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_request_criterion')),
    )
    op.create_index(op.f('ix_request_criterion_request_id'), 'request_criterion', ['request_id'], unique=False)
    with op.batch_alter_table('request_item') as batch:
        batch.add_column(sa.Column('part_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('criterion_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_request_item_part_id_request_part'), 'request_part', ['part_id'], ['id'])
        batch.create_foreign_key(op.f('fk_request_item_criterion_id_request_criterion'), 'request_criterion',
                                 ['criterion_id'], ['id'])
        batch.create_index(op.f('ix_request_item_part_id'), ['part_id'], unique=False)
    _parts_of_existing_requests()


def _parts_of_existing_requests():
    conn = op.get_bind()
    sites = {cid: sid for sid, cid in conn.execute(sa.text("SELECT id, container_id FROM site"))}
    default = conn.execute(sa.text("SELECT id FROM site WHERE is_default ORDER BY id")).scalar()
    rows = conn.execute(sa.text(
        "SELECT i.id, i.request_id, r.status, r.decided_at, r.decided_by, c.lineage "
        "FROM request_item i JOIN research_request r ON r.id = i.request_id JOIN sample s ON s.id = i.sample_id "
        "LEFT JOIN container c ON c.id = COALESCE(s.container_id, s.home_container_id)")).all()
    parts = {}
    for item_id, request_id, status, decided_at, decided_by, lineage in rows:
        root = int(lineage.strip("/").split("/", 1)[0]) if lineage else None
        site_id = sites.get(root, default)
        key = (request_id, site_id)
        if key not in parts:
            decided = status not in ("draft", "submitted")
            parts[key] = conn.execute(sa.text(
                "INSERT INTO request_part (request_id, site_id, status, decided_at, decided_by) "
                "VALUES (:r, :s, :st, :at, :by) RETURNING id"),
                {"r": request_id, "s": site_id, "st": PART_STATUS.get(status, "pending"),
                 "at": decided_at if decided else None, "by": decided_by if decided else None}).scalar()
        conn.execute(sa.text("UPDATE request_item SET part_id = :p WHERE id = :i"), {"p": parts[key], "i": item_id})


def downgrade():
    with op.batch_alter_table('request_item') as batch:
        batch.drop_index(op.f('ix_request_item_part_id'))
        batch.drop_constraint(op.f('fk_request_item_criterion_id_request_criterion'), type_='foreignkey')
        batch.drop_constraint(op.f('fk_request_item_part_id_request_part'), type_='foreignkey')
        batch.drop_column('criterion_id')
        batch.drop_column('part_id')
    op.drop_index(op.f('ix_request_criterion_request_id'), table_name='request_criterion')
    op.drop_table('request_criterion')
    op.drop_index(op.f('ix_request_part_request_id'), table_name='request_part')
    op.drop_table('request_part')
