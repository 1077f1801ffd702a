"""Sites and staff: create a site with its storage tree's top, change it, say who works where.

Shipments between sites are in shipments.py. Like every service these take the
acting user, check permissions, append custody events and never commit."""
import re
from zoneinfo import available_timezones

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..auth.models import User
from ..core.errors import Conflict, InvalidInput, NotFound, NotPermitted
from ..core.languages import checked_language
from ..core.permissions import require
from ..custody import service as custody
from ..extensions import db
from ..storage import service as storage
from ..storage.models import Container
from . import scope, staff
from .models import Site

_CODE = re.compile(r"^[A-Za-z0-9\-_.]{2,32}$")


def _check_network(actor, message: str) -> None:
    """`message` says who may do it, for anyone else."""
    if not scope.is_network_actor(actor):
        raise NotPermitted(message, code="not_permitted")


def _time_zone(value) -> str:
    value = (value or "UTC").strip() if isinstance(value, str) or value is None else None
    if value not in available_timezones() and value != "UTC":
        raise InvalidInput(_("'%(zone)s' is not a time zone name such as Asia/Tashkent.", zone=value),
                           code="invalid_time_zone")
    return value


def get_site(site_id) -> Site:
    site = db.session.get(Site, site_id) if isinstance(site_id, int) else None
    if site is None:
        raise NotFound(_("There is no site %(id)s.", id=site_id), code="unknown_site")
    return site


def site_by_code(code: str) -> Site:
    site = db.session.execute(select(Site).where(Site.code == code)).scalar_one_or_none()
    if site is None:
        raise NotFound(_("No site has the code %(code)s.", code=code), code="unknown_site")
    return site


def list_sites(actor) -> list[Site]:
    """Every site of the network (anyone signed in may know the network's sites)."""
    return list(db.session.execute(select(Site).order_by(Site.id)).scalars())


def create_site(actor, *, code: str, name: str, address: str | None = None, time_zone: str | None = None,
                language: str | None = None) -> Site:
    """A new site with its own storage tree (a top-level container of kind site)."""
    require(actor, "storage.layout")
    _check_network(actor, _("Only an admin or a network manager adds a site."))
    code = (code or "").strip()
    if not _CODE.match(code):
        raise InvalidInput(_("A site code is 2..32 characters of A-Z a-z 0-9 - _ ."), code="invalid_code")
    if db.session.execute(select(Site.id).where(Site.code == code)).first():
        raise Conflict(_("A site with the code %(code)s exists already.", code=code), code="duplicate_site")
    zone = _time_zone(time_zone)
    language = checked_language(language)
    container = storage.create_container(actor, name=name, kind="site", barcode=code, record=False)
    site = scope.site_of(container)
    site.code, site.address, site.time_zone = code, (address or "").strip() or None, zone
    site.language = language
    db.session.flush()
    custody.record(actor, "site.created", "site", code, container_id=container.id, to_location=container.path,
                   changes={"code": [None, code], "name": [None, container.name], "time_zone": [None, zone],
                            "address": [None, site.address], "language": [None, language]})
    return site


def update_site(actor, site_id: int, *, name: str | None = None, code: str | None = None,
                address: str | None = None, time_zone: str | None = None, language: str | None = None) -> Site:
    """Rename a site (its container and paths follow) or change its address, time zone and
    default language (language "": none, its staff's browsers decide)."""
    require(actor, "storage.layout")
    _check_network(actor, _("Only an admin or a network manager changes a site."))
    site = get_site(site_id)
    changes = {}
    if code is not None and code != site.code:
        if not _CODE.match(code) or db.session.execute(select(Site.id).where(Site.code == code)).first():
            raise InvalidInput(_("%(code)s is not a free site code.", code=code), code="invalid_code")
        changes["code"], site.code = [site.code, code], code
    if time_zone is not None and time_zone != site.time_zone:
        zone = _time_zone(time_zone)
        changes["time_zone"], site.time_zone = [site.time_zone, zone], zone
    language = checked_language(language) if language is not None else site.language
    if language != site.language:
        changes["language"], site.language = [site.language, language], language
    if address is not None and address != site.address:
        changes["address"], site.address = [site.address, address or None], address or None
    if name is not None and name.strip() and name.strip() != site.name:
        changes["name"] = [site.name, name.strip()]
        _rename_tree(site, name.strip())
    if changes:
        db.session.flush()
        custody.record(actor, "site.updated", "site", site.code, container_id=site.container_id, changes=changes)
    return site


def _rename_tree(site: Site, name: str) -> None:
    top = storage.get_container(site.container_id)
    old = top.path
    site.name = name
    db.session.flush()
    db.session.execute(update(Container).where(Container.lineage.startswith(top.lineage))
                       .values(path=name + func.substr(Container.path, len(old) + 1)),
                       execution_options={"synchronize_session": False})
    db.session.execute(update(Container).where(Container.id == top.id).values(name=name),
                       execution_options={"synchronize_session": False})
    db.session.expire_all()


def set_user_sites(actor, username: str, codes: list[str]) -> dict:
    """Where a user's role holds from now on (admin)."""
    require(actor, "users.manage")
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(_("There is no user %(name)s.", name=username), code="unknown_user")
    chosen = staff.sites_by_codes(codes)
    if not chosen:
        raise InvalidInput(_("A user works at one site at least."), code="no_sites")
    before = staff.site_codes_of(user.id)
    staff.set_links(user.id, chosen)
    after = [s.code for s in sorted(chosen, key=lambda s: s.id)]
    custody.record(actor, "user.sites_changed", "user", username, changes={"sites": [before, after]})
    return user_view(user)


def user_view(user) -> dict:
    return {"username": user.username, "role": user.role, "active": user.active,
            "sites": staff.site_codes_of(user.id)}
