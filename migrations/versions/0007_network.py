"""network: sites, staff by site, shipments between sites

Every database gets at least one site: each top-level container of kind
`site` becomes a site (the first one the default), or a default "Main site"
is created; other top-level containers move under the default site, and every
existing user is placed at it, so a single-site biobank works as before.

Revision ID: 0007
Revises: 0006
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

DEFAULT_CODE, DEFAULT_NAME = "MAIN", "Main site"


def upgrade():
    op.create_table(
        'site',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('address', sa.Text(), nullable=True),
        sa.Column('time_zone', sa.String(length=64), nullable=False),
        sa.Column('container_id', sa.Integer(), nullable=False),
        sa.Column('is_default', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['container_id'], ['container.id'], name=op.f('fk_site_container_id_container')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_site')),
        sa.UniqueConstraint('code', name=op.f('uq_site_code')),
        sa.UniqueConstraint('container_id', name=op.f('uq_site_container_id')),
    )
    op.create_table(
        'user_site',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_site_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_user_site_site_id_site'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'site_id', name=op.f('pk_user_site')),
    )
    op.create_index(op.f('ix_user_site_site_id'), 'user_site', ['site_id'], unique=False)
    op.create_table(
        'shipment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('from_site_id', sa.Integer(), nullable=False),
        sa.Column('to_site_id', sa.Integer(), nullable=False),
        sa.Column('condition', sa.String(length=24), nullable=False),
        sa.Column('courier', sa.String(length=120), nullable=True),
        sa.Column('tracking', sa.String(length=120), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('excursion', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('dispatched_at', sa.DateTime(), nullable=True),
        sa.Column('dispatched_by', sa.String(length=64), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('closed_by', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['from_site_id'], ['site.id'], name=op.f('fk_shipment_from_site_id_site')),
        sa.ForeignKeyConstraint(['to_site_id'], ['site.id'], name=op.f('fk_shipment_to_site_id_site')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment')),
    )
    for column in ('from_site_id', 'to_site_id', 'status'):
        op.create_index(op.f(f'ix_shipment_{column}'), 'shipment', [column], unique=False)
    op.create_table(
        'shipment_item',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shipment_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('barcode', sa.String(length=64), nullable=False),
        sa.Column('sample_id', sa.Integer(), nullable=True),
        sa.Column('container_id', sa.Integer(), nullable=True),
        sa.Column('box_item_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('condition', sa.String(length=16), nullable=True),
        sa.Column('from_container_id', sa.Integer(), nullable=True),
        sa.Column('from_row', sa.Integer(), nullable=True),
        sa.Column('from_col', sa.Integer(), nullable=True),
        sa.Column('from_location', sa.String(length=900), nullable=True),
        sa.Column('to_location', sa.String(length=900), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=True),
        sa.Column('received_by', sa.String(length=64), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipment.id'], name=op.f('fk_shipment_item_shipment_id_shipment'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['sample_id'], ['sample.id'], name=op.f('fk_shipment_item_sample_id_sample')),
        sa.ForeignKeyConstraint(['container_id'], ['container.id'],
                                name=op.f('fk_shipment_item_container_id_container')),
        sa.ForeignKeyConstraint(['box_item_id'], ['shipment_item.id'],
                                name=op.f('fk_shipment_item_box_item_id_shipment_item')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_item')),
    )
    for column in ('shipment_id', 'sample_id', 'container_id'):
        op.create_index(op.f(f'ix_shipment_item_{column}'), 'shipment_item', [column], unique=False)
    _default_site()


def _free_barcode(conn, wanted: str) -> str:
    candidate, number = wanted, 1
    while conn.execute(sa.text("SELECT 1 FROM container WHERE barcode = :b UNION ALL "
                               "SELECT 1 FROM sample WHERE barcode = :b"), {"b": candidate}).first():
        number += 1
        candidate = f"{wanted}-{number}"
    return candidate


def _default_site():
    conn = op.get_bind()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    roots = conn.execute(sa.text("SELECT id, barcode, name, kind FROM container WHERE parent_id IS NULL "
                                 "ORDER BY id")).all()
    site_roots = [r for r in roots if r.kind == 'site']
    for number, root in enumerate(site_roots):
        code = root.barcode[:32]
        conn.execute(sa.text("INSERT INTO site (code, name, time_zone, container_id, is_default, created_at) "
                             "VALUES (:code, :name, 'UTC', :cid, :dflt, :now)"),
                     {"code": code, "name": root.name, "cid": root.id, "dflt": number == 0, "now": now})
    if site_roots:
        default_id, default_name = site_roots[0].id, site_roots[0].name
    else:
        barcode = _free_barcode(conn, DEFAULT_CODE)
        conn.execute(sa.text("INSERT INTO container (barcode, name, kind, lineage, path, capacity, used, created_at) "
                             "VALUES (:b, :n, 'site', '', :n, 0, 0, :now)"), {"b": barcode, "n": DEFAULT_NAME, "now": now})
        default_id = conn.execute(sa.text("SELECT id FROM container WHERE barcode = :b"), {"b": barcode}).scalar_one()
        default_name = DEFAULT_NAME
        conn.execute(sa.text("UPDATE container SET lineage = :l WHERE id = :i"), {"l": f"/{default_id}/", "i": default_id})
        conn.execute(sa.text("INSERT INTO site (code, name, time_zone, container_id, is_default, created_at) "
                             "VALUES (:code, :name, 'UTC', :cid, :dflt, :now)"),
                     {"code": DEFAULT_CODE, "name": DEFAULT_NAME, "cid": default_id, "dflt": True, "now": now})
    # Other top-level containers (tanks, freezers, loose boxes) go under the default site.
    for root in roots:
        if root.kind == 'site':
            continue
        conn.execute(sa.text("UPDATE container SET lineage = :prefix || lineage, path = :name || ' / ' || path "
                             "WHERE lineage LIKE :own"),
                     {"prefix": f"/{default_id}", "name": default_name, "own": f"/{root.id}/%"})
        conn.execute(sa.text("UPDATE container SET parent_id = :d WHERE id = :i"), {"d": default_id, "i": root.id})
        conn.execute(sa.text("UPDATE container SET capacity = capacity + (SELECT capacity FROM container WHERE id = :i), "
                             "used = used + (SELECT used FROM container WHERE id = :i) WHERE id = :d"),
                     {"d": default_id, "i": root.id})
    site_id = conn.execute(sa.text("SELECT id FROM site WHERE is_default = :t"), {"t": True}).scalar_one()
    conn.execute(sa.text("INSERT INTO user_site (user_id, site_id) SELECT id, :s FROM user_account"), {"s": site_id})


def downgrade():
    for column in ('container_id', 'sample_id', 'shipment_id'):
        op.drop_index(op.f(f'ix_shipment_item_{column}'), table_name='shipment_item')
    op.drop_table('shipment_item')
    for column in ('status', 'to_site_id', 'from_site_id'):
        op.drop_index(op.f(f'ix_shipment_{column}'), table_name='shipment')
    op.drop_table('shipment')
    op.drop_index(op.f('ix_user_site_site_id'), table_name='user_site')
    op.drop_table('user_site')
    op.drop_table('site')
