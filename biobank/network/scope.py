"""Where things are, site-wise, and where an actor may act.

Low on purpose (models only): core.permissions.require_at builds on it, and
every service can call that without an import circle. A container's site is
read from the first id of its lineage (the root of its tree), so it costs one
indexed lookup and follows container moves by itself.

A site of a tree root and the sites of an actor are read once a transaction (a move checks
both ends at the same site): the answers are kept in the session until the transaction ends,
and `forget_user_sites` drops an actor's when this transaction changes them.
"""
from sqlalchemy import event, false, func, or_, select
from sqlalchemy.orm import Session

from ..auth.models import User
from ..custody.models import CustodyEvent
from ..extensions import db
from ..storage.models import Container
from .models import Site, user_site

# Roles whose rights hold across all sites of the network.
NETWORK_ROLES = frozenset({"admin", "network_manager"})


_KEPT = "site_scope"


def _kept() -> dict:
    return db.session.info.setdefault(_KEPT, {})


@event.listens_for(Session, "after_transaction_end")
def _forget(session, _transaction) -> None:
    """Whatever way a transaction ends (commit, rollback, a savepoint, the session closed)."""
    session.info.pop(_KEPT, None)


def forget_user_sites() -> None:
    """This transaction changed whose sites are whose: read them again."""
    _kept().pop("actor_sites", None)


def is_network_actor(actor) -> bool:
    return actor is not None and actor.role in NETWORK_ROLES


def root_id(container: Container) -> int:
    return int(container.lineage.strip("/").split("/", 1)[0])


def site_of(where) -> Site | None:
    """The site of a Site, a Container, a container id or a sample; None when it is at no site
    (a box in transit, or a container outside every site's tree)."""
    if where is None:
        return None
    if isinstance(where, Site):
        return where
    if isinstance(where, int):
        where = db.session.get(Container, where)
        if where is None:
            return None
    if not isinstance(where, Container):  # a sample: where it is, else where it was last stored
        sample = where
        where = getattr(sample, "container", None) or getattr(sample, "home_container", None)
        if where is None:
            where = _last_box(sample)
        if where is None:
            return None
    root = root_id(where)
    roots = _kept().setdefault("site_of_root", {})
    site = roots.get(root)
    if site is None:
        site = db.session.execute(select(Site).where(Site.container_id == root)).scalar_one_or_none()
        if site is not None:  # a root without a site is not kept: one may be made for it meanwhile
            roots[root] = site
    return site


def _last_box(sample) -> Container | None:
    """The box a sample that has left storage for good (discarded, used up, shipped, its place
    released) was last recorded in, from its custody events; None for one between sites."""
    if getattr(sample, "status", None) in ("in_transit", "missing") or not getattr(sample, "barcode", None):
        return None
    box_id = db.session.execute(
        select(CustodyEvent.container_id).where(CustodyEvent.sample_barcode == sample.barcode,
                                                CustodyEvent.container_id.is_not(None))
        .order_by(CustodyEvent.seq.desc()).limit(1)).scalar_one_or_none()
    return db.session.get(Container, box_id) if box_id is not None else None


def default_site() -> Site | None:
    return db.session.execute(select(Site).where(Site.is_default.is_(True)).order_by(Site.id)).scalars().first()


def actor_site_ids(actor) -> list[int]:
    """The sites this actor works at (in the order they were given: the first is their home site)."""
    if actor is None:
        return []
    kept = _kept().setdefault("actor_sites", {})
    key = (actor.user_id, actor.username)
    if key not in kept:
        query = select(user_site.c.site_id)
        if actor.user_id is not None:
            query = query.where(user_site.c.user_id == actor.user_id)
        else:
            query = query.join(User, User.id == user_site.c.user_id).where(User.username == actor.username)
        kept[key] = sorted(db.session.execute(query).scalars())
    return list(kept[key])


def home_site(actor) -> Site | None:
    """Where the actor's placements go by default: their first site, else the default site."""
    ids = actor_site_ids(actor)
    if ids:
        return db.session.get(Site, ids[0])
    return default_site()


def acts_at(actor, site: Site | None) -> bool:
    """May this actor act at that site? Network roles: anywhere; others: at their own sites."""
    if is_network_actor(actor):
        return True
    return site is not None and site.id in actor_site_ids(actor)


def visible_site_ids(actor) -> list[int] | None:
    """None for network roles (every site); else the actor's own sites."""
    return None if is_network_actor(actor) else actor_site_ids(actor)


def lineage_prefixes(site_ids) -> list[str]:
    """'/{site container id}/' of each site: containers whose lineage starts with one are at it."""
    if not site_ids:
        return []
    rows = db.session.execute(select(Site.container_id).where(Site.id.in_(list(site_ids)))).scalars()
    return [f"/{cid}/" for cid in rows]


def at_visible_sites(actor, container_id_column):
    """A WHERE condition: the container in `container_id_column` is at one of the actor's sites;
    None for network roles (no condition: every site)."""
    site_ids = visible_site_ids(actor)
    if site_ids is None:
        return None
    prefixes = lineage_prefixes(site_ids)
    if not prefixes:
        return false()
    return container_id_column.in_(select(Container.id).where(or_(*(Container.lineage.startswith(p)
                                                                     for p in prefixes))))


def home_site_settings(connection, user_id: int | None):
    """(language, time_zone) of a user's home site (their first), else of the network's default
    site, on the given connection (core.i18n reads it outside the request's transaction)."""
    site = Site.__table__
    first = connection.execute(select(func.min(user_site.c.site_id)).where(
        user_site.c.user_id == user_id)).scalar() if user_id is not None else None
    where = site.c.id == first if first is not None else site.c.is_default.is_(True)
    return connection.execute(select(site.c.language, site.c.time_zone).where(where)
                              .order_by(site.c.id).limit(1)).first()
