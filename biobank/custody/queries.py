"""Browsing the custody log."""
import math

from sqlalchemy import false, func, or_, select, union_all

from ..core.db import is_postgres
from ..core.permissions import require
from ..core.time import to_naive_utc
from ..extensions import db
from ..network import scope
from ..storage.models import Container
from .models import CustodyEvent, CustodyPending


def recorded(*names: str):
    """These columns of every event the current transaction sees, as a subquery: on
    PostgreSQL with the ones it wrote itself, which its commit has still to chain
    (custody_pending). For counts taken inside a unit of work, such as reprints."""
    chained = select(*[CustodyEvent.__table__.c[name] for name in names])
    if not is_postgres():
        return chained.subquery()
    pending = select(*[CustodyPending.__table__.c[name] for name in names])
    return union_all(chained, pending).subquery()


def _at_sites(site_ids, *, keep_unplaced: bool):
    """Events about containers (and the samples in them) at these sites; with keep_unplaced,
    also the events tied to no container (requests, users, verifications)."""
    prefixes = scope.lineage_prefixes(site_ids)
    here = select(Container.id).where(or_(*[Container.lineage.startswith(p) for p in prefixes]) if prefixes
                                      else false())
    at_sites = CustodyEvent.container_id.in_(here)
    return or_(at_sites, CustodyEvent.container_id.is_(None)) if keep_unplaced else at_sites


def events(actor, filters: dict, page: int = 1, per_page: int = 100) -> dict:
    require(actor, "reports.read")
    query = select(CustodyEvent)
    site_ids = scope.visible_site_ids(actor)  # staff of some sites read their sites' events
    if filters.get("site"):
        wanted = [filters["site"]] if site_ids is None or filters["site"] in site_ids else []
        site_ids = wanted
    if site_ids is not None:
        query = query.where(_at_sites(site_ids, keep_unplaced=not filters.get("site")))
    if filters.get("sample"):
        query = query.where(CustodyEvent.sample_barcode == filters["sample"])
    if filters.get("container_id"):
        query = query.where(CustodyEvent.container_id == filters["container_id"])
    if filters.get("actor"):
        query = query.where(CustodyEvent.actor == filters["actor"])
    if filters.get("action"):
        query = query.where(CustodyEvent.action == filters["action"])
    if filters.get("since"):
        query = query.where(CustodyEvent.at >= to_naive_utc(filters["since"]))
    if filters.get("until"):
        query = query.where(CustodyEvent.at < to_naive_utc(filters["until"]))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    items = db.session.execute(query.order_by(CustodyEvent.seq.desc()).offset((page - 1) * per_page)
                               .limit(per_page)).scalars().all()
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(total / per_page))}
