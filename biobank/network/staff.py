"""Who works at which sites: the user ↔ site link, kept low so the user service can use it."""
from flask_babel import gettext as _
from sqlalchemy import delete, insert, select

from ..core.errors import InvalidInput
from ..extensions import db
from . import scope
from ..auth.models import User
from .models import Site, user_site


def sites_by_codes(codes) -> list[Site]:
    """The sites for these codes, in the order given; 422 naming any unknown code."""
    if not isinstance(codes, (list, tuple)) or not all(isinstance(c, str) for c in codes):
        raise InvalidInput(_("Give the sites as a list of site codes."), code="invalid_sites")
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    found = {s.code: s for s in db.session.execute(select(Site).where(Site.code.in_(wanted))).scalars()} \
        if wanted else {}
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise InvalidInput(_("No site has the code %(code)s.", code=", ".join(unknown)), code="unknown_site",
                           details={"codes": unknown})
    return [found[c] for c in wanted]


def place_user(user, codes: list[str] | None) -> list[str]:
    """Put a new user at these sites (none given: the default site); returns the codes."""
    chosen = sites_by_codes(codes) if codes else [s for s in [scope.default_site()] if s is not None]
    set_links(user.id, chosen)
    return [s.code for s in chosen]


def staff_ids(site: Site, roles=("manager", "technician")) -> list[int]:
    """The active users with one of `roles` who work at `site` (for telling them by e-mail)."""
    return list(db.session.execute(
        select(User.id).join(user_site, user_site.c.user_id == User.id)
        .where(user_site.c.site_id == site.id, User.role.in_(list(roles)), User.active.is_(True))
        .order_by(User.id)).scalars())


def set_links(user_id: int, chosen: list[Site]) -> None:
    scope.forget_user_sites()
    db.session.execute(delete(user_site).where(user_site.c.user_id == user_id))
    if chosen:
        db.session.execute(insert(user_site), [{"user_id": user_id, "site_id": s.id} for s in chosen])


def site_codes_of(user_id: int) -> list[str]:
    return list(db.session.execute(select(Site.code).join(user_site, user_site.c.site_id == Site.id)
                                   .where(user_site.c.user_id == user_id).order_by(Site.id)).scalars())
