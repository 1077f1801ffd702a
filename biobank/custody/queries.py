"""Browsing the custody log."""
import math

from sqlalchemy import func, select

from ..core.permissions import require
from ..core.time import to_naive_utc
from ..extensions import db
from .models import CustodyEvent


def events(actor, filters: dict, page: int = 1, per_page: int = 100) -> dict:
    require(actor, "reports.read")
    query = select(CustodyEvent)
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
