"""Capacity: how full is each site, tank and rack, and when will it be full.

Cost per request:
- positions, used, held, free, fraction: read from the `capacity`, `used` and
  `held` counters that every container keeps for its whole subtree; one query
  over containers, O(containers), whatever the number of samples. `used` counts
  tubes in storage, `held` the positions kept for checked-out tubes (they are
  not free: nothing else may be stored there), free = positions - used - held,
  and fraction = (used + held) / positions.
- intake per week and the fill forecast: from the custody log, restricted by
  its indexed time column to the last year (intake) and the last
  WINDOW_WEEKS weeks (forecast); the weekly counts are a GROUP BY in the database.
  This costs O(events in that window), not O(samples).
- counts by sample type (optional, `by_type=true`): one GROUP BY over the
  stored samples, O(stored samples). No per-type counters exist, so it is off
  by default and only computed when asked for.
"""
import json
import logging
import os
from collections import defaultdict
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import DateTime, Integer, and_, cast, false, func, literal, or_, select

from ..core.display import percent
from ..core.errors import InvalidInput
from ..core.permissions import require, require_at
from ..core.time import utcnow
from ..custody.models import CustodyEvent
from ..extensions import db
from ..network import scope
from ..network.models import Site
from ..samples.models import Sample
from ..storage.models import Container, lineage_ids, occupied_fraction
from ..storage.service import get_container
from . import forecast

log = logging.getLogger(__name__)

DEFAULT_FILL_ALERT = 0.9
INTAKE_WEEKS = 52
# Custody actions that put a tube into a position (+1) or take one out (-1).
# A move counts -1 for the box it left and +1 for the box it entered. A
# check-out keeps its position held, but counts as leaving here and its return
# as entering, so a check-out and its return cancel out in the weekly trend.
_INTO = ("sample.registered", "sample.returned")
_OUT_OF = ("sample.checked_out", "sample.discarded")
_MOVED = "sample.moved"


def fill_threshold(override=None) -> float:
    """The alert threshold: the request's, else BIOBANK_FILL_ALERT (app config or
    environment; 0.9 and 90 both mean 90 %), else 0.9."""
    if override is not None:
        if not 0 < override <= 1:
            raise InvalidInput(_("threshold is a fraction between 0 and 1, e.g. 0.9."), code="invalid_threshold")
        return float(override)
    raw = current_app.config.get("BIOBANK_FILL_ALERT", os.environ.get("BIOBANK_FILL_ALERT"))
    if raw is None or str(raw).strip() == "":
        return DEFAULT_FILL_ALERT
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1
    if 1 < value <= 100:
        value /= 100
    if not 0 < value <= 1:
        log.warning("BIOBANK_FILL_ALERT=%r is not a fraction in (0, 1]; using %s", raw, DEFAULT_FILL_ALERT)
        return DEFAULT_FILL_ALERT
    return value


def _week_index(start: datetime):
    """SQL for the number of whole weeks between `start` and an event's time.

    Date arithmetic has no portable SQL spelling, so this is the one place that
    says it per database (SQLite: julianday; PostgreSQL: epoch seconds). Grouping
    by it costs one cheap expression per event instead of one CASE per week.
    """
    if db.engine.dialect.name == "sqlite":
        days = func.julianday(CustodyEvent.at) - func.julianday(literal(start.isoformat(sep=" ")))
        return cast(days / 7, Integer)
    seconds = func.extract("epoch", CustodyEvent.at - literal(start, DateTime))
    return cast(func.floor(seconds / 604800), Integer)


def _week_sums(boundaries: list[datetime], group_by: tuple, *where) -> dict[tuple, list[int]]:
    """Events per week [b0, b0 + 1 week), ... grouped, counted by the database:
    {group values: [count per week, oldest first]}."""
    weeks = len(boundaries) - 1
    week = _week_index(boundaries[0]).label("week")
    query = (select(*group_by, week, func.count()).where(CustodyEvent.at >= boundaries[0],
                                                          CustodyEvent.at < boundaries[-1], *where)
             .group_by(*group_by, week))
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0] * weeks)
    for row in db.session.execute(query):
        key, index, count = tuple(row[:len(group_by)]), row[len(group_by)], row[-1]
        sums[key][min(max(int(index), 0), weeks - 1)] += int(count)
    return sums


def intake_per_week(now: datetime, weeks: int = INTAKE_WEEKS, boxes: set | None = None) -> list[dict]:
    """Samples registered per calendar week (Monday to Sunday, UTC), oldest first,
    the current (partial) week last; only into `boxes` when given."""
    monday = datetime(now.year, now.month, now.day) - timedelta(days=now.weekday())
    boundaries = [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)] + [monday + timedelta(weeks=1)]
    registered = CustodyEvent.action == "sample.registered"
    if boxes is None:
        counts = _week_sums(boundaries, (), registered).get((), [0] * weeks)
    else:
        counts = [0] * weeks
        for (box_id,), per_week in _week_sums(boundaries, (CustodyEvent.container_id,), registered).items():
            if box_id in boxes:
                counts = [a + b for a, b in zip(counts, per_week)]
    return [{"week_start": boundaries[i].date().isoformat(), "registered": counts[i],
             "partial": i == weeks - 1} for i in range(weeks)]


def net_intake_per_week(now: datetime, ancestors: dict[int, list[int]],
                        weeks: int = forecast.WINDOW_WEEKS) -> dict[int, list[int]]:
    """Net positions filled per rolling 7-day week (oldest first) for every container,
    rolled up from the boxes to all their ancestors."""
    boundaries = [now - timedelta(weeks=weeks - i) for i in range(weeks + 1)]
    net: dict[int, list[int]] = defaultdict(lambda: [0] * weeks)

    def add(box_id, week_counts, sign):
        for cid in ancestors.get(box_id, ()):
            series = net[cid]
            for i, count in enumerate(week_counts):
                series[i] += sign * int(count or 0)

    rows = _week_sums(boundaries, (CustodyEvent.container_id, CustodyEvent.action),
                      CustodyEvent.container_id.is_not(None),
                      or_(CustodyEvent.action.in_(_INTO),
                          and_(CustodyEvent.action.in_(_OUT_OF), CustodyEvent.from_location.is_not(None))))
    for (box_id, action), counts in rows.items():
        add(box_id, counts, 1 if action in _INTO else -1)
    # Moves: the box entered is on the event; the box left is in its recorded changes.
    moves = db.session.execute(select(CustodyEvent.at, CustodyEvent.container_id, CustodyEvent.changes).where(
        CustodyEvent.action == _MOVED, CustodyEvent.at >= boundaries[0], CustodyEvent.at < boundaries[-1])
        .execution_options(yield_per=5000))
    for at, entered, changes in moves:
        week = min(weeks - 1, int((at - boundaries[0]) / timedelta(weeks=1)))
        one = [0] * weeks
        one[week] = 1
        try:
            left = json.loads(changes or "{}").get("container_id", [None])[0]
        except (ValueError, AttributeError, IndexError, TypeError):
            left = None
        if left is not None and int(left) == entered:
            continue  # within one box: no change anywhere
        if entered is not None:
            add(entered, one, 1)
        if left is not None:
            add(int(left), one, -1)
    return net


def by_type_counts(ancestors: dict[int, list[int]]) -> tuple[dict[int, dict], dict]:
    """Stored samples per type for every container (O(stored samples): one GROUP BY)."""
    per_container: dict[int, dict] = defaultdict(lambda: defaultdict(int))
    totals: dict[str, int] = defaultdict(int)
    rows = db.session.execute(select(Sample.container_id, Sample.sample_type, func.count())
                              .where(Sample.container_id.is_not(None))
                              .group_by(Sample.container_id, Sample.sample_type))
    for box_id, sample_type, count in rows:
        if box_id not in ancestors:
            continue  # outside the part of the layout asked about
        totals[sample_type] += count
        for cid in ancestors.get(box_id, ()):
            per_container[cid][sample_type] += count
    return per_container, dict(sorted(totals.items()))


def top_level_containers(actor=None) -> list:
    """The sites at the top of the layout (those the actor reads, when given): what a
    capacity report can be limited to, by name."""
    query = select(Container.id, Container.name, Container.kind).join(Site, Site.container_id == Container.id) \
        .where(Container.parent_id.is_(None)).order_by(Container.name, Container.id)
    site_ids = scope.visible_site_ids(actor) if actor is not None else None
    if site_ids is not None:
        query = query.where(Site.id.in_(site_ids))
    return db.session.execute(query).all()


def capacity(actor, *, threshold: float | None = None, by_type: bool = False, include_boxes: bool = False,
             within: int | None = None, now: datetime | None = None) -> dict:
    """Per site, tank and rack (and box, when asked): positions, used, free,
    fraction, a fill forecast; alerts above the threshold; intake per week.

    within: one container's id (a site, say): only it and what it holds, and
    only the intake into it, so one centre of a network reads its own part."""
    require(actor, "reports.read")
    threshold = fill_threshold(threshold)
    now = now or utcnow()
    query = select(Container.id, Container.barcode, Container.name, Container.kind, Container.parent_id,
                   Container.lineage, Container.path, Container.rows, Container.capacity, Container.used,
                   Container.held)
    root = None
    site_ids = scope.visible_site_ids(actor)  # None: every site (network roles)
    if within is not None:
        root = get_container(within)
        require_at(actor, "reports.read", root)
        query = query.where(Container.lineage.startswith(root.lineage))  # lineage: "/site/tank/.../self/"
    elif site_ids is not None:  # staff of some sites read their own sites
        prefixes = scope.lineage_prefixes(site_ids)
        query = query.where(or_(*[Container.lineage.startswith(p) for p in prefixes]) if prefixes else false())
    containers = db.session.execute(query).all()
    ancestors = {c.id: lineage_ids(c.lineage) for c in containers}
    net = net_intake_per_week(now, ancestors)
    types, type_totals = by_type_counts(ancestors) if by_type else ({}, None)
    today = now.date()
    items = []
    for c in sorted(containers, key=lambda c: ancestors[c.id]):
        if c.rows is not None and not include_boxes and c.id != within:
            continue
        taken = c.used + c.held
        fraction = occupied_fraction(c.used, c.held, c.capacity)
        weekly = net.get(c.id, [0] * forecast.WINDOW_WEEKS)
        item = {"id": c.id, "barcode": c.barcode, "name": c.name, "kind": c.kind, "parent_id": c.parent_id,
                "depth": len(ancestors[c.id]) - 1, "path": c.path, "positions": c.capacity, "used": c.used,
                "held": c.held, "free": c.capacity - taken, "fraction": fraction,
                "alert": bool(c.capacity) and fraction >= threshold, "recent_net_per_week": weekly}
        item.update(forecast.fill_forecast(c.capacity - taken, weekly, today).as_dict())
        if by_type:
            item["by_type"] = dict(sorted(types.get(c.id, {}).items()))
        items.append(item)
    alerts = [_alert(i, threshold) for i in sorted(items, key=lambda i: (-i["fraction"], i["path"])) if i["alert"]]
    result = {
        "generated_at": now,
        "threshold": threshold,
        "within": None if root is None else {"id": root.id, "name": root.name, "kind": root.kind, "path": root.path},
        "items": items,
        "alerts": alerts,
        "intake_per_week": intake_per_week(now, boxes=None if root is None and site_ids is None
                                           else set(ancestors)),
        "forecast": {"method": str(forecast.METHOD), "window_weeks": forecast.WINDOW_WEEKS},
        "by_type_note": _("Counts by sample type come from one GROUP BY over the stored samples "
                          "(O(samples)); they are computed only with by_type=true."),
    }
    if by_type:
        result["by_type_totals"] = type_totals
    return result


def _alert(item: dict, threshold: float) -> dict:
    values = {"path": item["path"], "percent": percent(item["used"] + item["held"], item["positions"]),
              "used": item["used"], "positions": item["positions"], "held": item["held"],
              "alert": round(threshold * 100)}
    if item["held"]:
        message = _("%(path)s is %(percent)s%% full (%(used)s of %(positions)s positions used, %(held)s held for "
                    "checked-out tubes; alert at %(alert)s%%).", **values)
    else:
        message = _("%(path)s is %(percent)s%% full (%(used)s of %(positions)s positions used; alert at "
                    "%(alert)s%%).", **values)
    return {"id": item["id"], "barcode": item["barcode"], "kind": item["kind"], "path": item["path"],
            "fraction": item["fraction"], "used": item["used"], "positions": item["positions"],
            "threshold": threshold, "held": item["held"], "message": message}


def _at_my_sites(actor) -> list:
    here = scope.at_visible_sites(actor, Container.id)  # staff of some sites: their sites' containers
    return [here] if here is not None else []


def fill_alerts(actor, threshold: float | None = None, limit: int = 10) -> dict:
    """The sites, tanks and racks at or above the fill threshold, fullest first: the alerts of
    capacity() without the forecast, from one query over the non-box containers that are near it."""
    require(actor, "reports.read")
    threshold = fill_threshold(threshold)
    rows = db.session.execute(
        select(Container.id, Container.barcode, Container.kind, Container.path, Container.capacity, Container.used,
               Container.held)
        .where(Container.rows.is_(None), Container.capacity > 0,
               Container.used + Container.held >= Container.capacity * (threshold - 0.0001),
               *_at_my_sites(actor))).all()
    items = [{"id": r.id, "barcode": r.barcode, "kind": r.kind, "path": r.path, "positions": r.capacity,
              "used": r.used, "held": r.held, "fraction": occupied_fraction(r.used, r.held, r.capacity)} for r in rows]
    alerts = [_alert(i, threshold) for i in sorted(items, key=lambda i: (-i["fraction"], i["path"]))
              if i["fraction"] >= threshold]
    return {"threshold": threshold, "total": len(alerts), "alerts": alerts[:limit]}
