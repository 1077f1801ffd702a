"""The demo network: the central biobank (26 LN2 tanks, about 40,000 positions) and two
regional centres with a few tanks each, a few hundred samples with lineage, staff at each
site (one user of each role at the centre), and a shipment on its way from a regional
centre to the centre. Loading is idempotent: each part is added only when missing."""
import random
from datetime import datetime, timedelta

from sqlalchemy import select

from .auth.models import User
from .auth.service import create_user
from .core.actor import system_actor
from .extensions import db
from .network import scope
from .network import service as sites
from .network import shipments
from .network.models import Shipment, Site
from .samples import service as samples
from .storage import service as storage
from .storage.models import Container

SITE_BARCODE = "CBB"
CENTRAL = {"code": "CBB", "name": "Central Biobank", "time_zone": "Asia/Tashkent",
           "address": "Republican Oncology Centre, Tashkent"}
REGIONS = ({"code": "SAM", "name": "Samarkand Regional Centre", "time_zone": "Asia/Samarkand",
            "address": "Samarkand Regional Oncology Dispensary"},
           {"code": "FER", "name": "Fergana Regional Centre", "time_zone": "Asia/Tashkent",
            "address": "Fergana Regional Oncology Dispensary"})
DEMO_USERS = (("admin", "admin", "admin-demo-pass"), ("manager", "manager", "manager-demo-pass"),
              ("tech", "technician", "tech-demo-pass"), ("researcher", "researcher", "researcher-demo-pass"),
              ("network", "network_manager", "network-demo-pass"),
              ("tech-sam", "technician", "tech-sam-demo-pass"), ("manager-sam", "manager", "manager-sam-demo-pass"),
              ("tech-fer", "technician", "tech-fer-demo-pass"), ("manager-fer", "manager", "manager-fer-demo-pass"))
USER_SITES = {"tech-sam": "SAM", "manager-sam": "SAM", "tech-fer": "FER", "manager-fer": "FER"}
TANKS, RACKS, BOXES, ROWS, COLS = 26, 4, 4, 10, 10
REGIONAL_TANKS, REGIONAL_RACKS, REGIONAL_BOXES = 3, 2, 4
DONORS = 60
REGIONAL_DONORS = 8


def _central_site(actor) -> Site:
    """The default site becomes the central biobank while its tree is empty; else a site of its own."""
    existing = db.session.execute(select(Site).where(Site.code == CENTRAL["code"])).scalar_one_or_none()
    if existing is not None:
        return existing
    default = scope.default_site()
    if default is not None and not db.session.execute(
            select(Container.id).where(Container.parent_id == default.container_id).limit(1)).first():
        return sites.update_site(actor, default.id, **{k: CENTRAL[k] for k in ("code", "name", "time_zone",
                                                                               "address")})
    return sites.create_site(actor, **CENTRAL)


def build_demo_layout(actor) -> Container:
    """The central site: TANKS LN2 tanks of RACKS racks of BOXES boxes of ROWS x COLS."""
    site = _central_site(actor)
    for number in range(1, TANKS + 1):
        storage.build_layout(actor, parent_id=site.container_id, name=f"Tank {number:02d}", kind="tank",
                             racks=RACKS, boxes_per_rack=BOXES, rows=ROWS, cols=COLS,
                             storage_temperature="LN2_vapor")
    return storage.get_container(site.container_id)


def _users(actor) -> None:
    for username, role, password in DEMO_USERS:
        if not db.session.execute(select(User.id).where(User.username == username)).first():
            create_user(actor, username, password, role, sites=[USER_SITES.get(username, CENTRAL["code"])])


def _register(actor, site_container_id: int, prefix: str, donors: int, rng, base) -> list[str]:
    places = [("C50.9", "C50.9"), ("C18.7", "C18.7"), ("C34.1", "C34.1"), ("C61.9", "C61"), ("C64.9", "C64")]
    tissue = []
    for d in range(1, donors + 1):
        donor = f"DEMO-{prefix}D{d:04d}" if prefix != "BB" else f"DEMO-D{d:04d}"
        topography, icd10 = places[d % len(places)]
        when = (base + timedelta(days=rng.randint(0, 600), hours=rng.randint(0, 8))).isoformat() + "Z"
        for kind, volume in (("tissue_frozen", "1.0"), ("plasma", "2.0"), ("serum", "1.5")):
            code = {"tissue_frozen": "T", "plasma": "P", "serum": "S"}[kind]
            sample = samples.register_sample(
                actor, barcode=f"{prefix}{d:04d}{code}", sample_type=kind, donor=donor, collected_at=when,
                volume=volume, unit="mL" if kind != "tissue_frozen" else "mg",
                anatomical_site=topography if kind == "tissue_frozen" else None, diagnosis=icd10,
                storage_temperature="LN2_vapor", location={"strategy": "spread", "within": site_container_id})
            if kind == "tissue_frozen":
                tissue.append(sample.barcode)
    return tissue


def _regions(actor, rng, base, progress) -> None:
    for region in REGIONS:
        if db.session.execute(select(Site.id).where(Site.code == region["code"])).first():
            continue
        progress(f"Adding {region['name']} ({REGIONAL_TANKS} tanks) ...")
        site = sites.create_site(actor, **region)
        for number in range(1, REGIONAL_TANKS + 1):
            storage.build_layout(actor, parent_id=site.container_id, name=f"{region['code']} Tank {number}",
                                 kind="tank", racks=REGIONAL_RACKS, boxes_per_rack=REGIONAL_BOXES, rows=ROWS,
                                 cols=COLS, storage_temperature="LN2_vapor")
        _register(actor, site.container_id, region["code"], REGIONAL_DONORS, rng, base)


def _in_transit(actor) -> None:
    """A box and two loose tubes on their way from Samarkand to the centre."""
    if db.session.execute(select(Shipment.id).limit(1)).first():
        return
    sender = db.session.execute(select(Site).where(Site.code == REGIONS[0]["code"])).scalar_one()
    central = db.session.execute(select(Site).where(Site.code == CENTRAL["code"])).scalar_one()
    shipment = shipments.create_shipment(actor, from_site=sender.id, to_site=central.id,
                                         condition="LN2_dry_shipper", courier="UzPost Medical",
                                         tracking="UZ-2026-000417")
    first = samples.get_sample(f"{sender.code}0001P")
    shipments.add_item(actor, shipment.id, first.container.barcode)
    for barcode in (f"{sender.code}0002S", f"{sender.code}0003S"):
        if samples.get_sample(barcode).container_id != first.container_id:
            shipments.add_item(actor, shipment.id, barcode)
    shipments.dispatch(actor, shipment.id)


def load_demo(progress=lambda message: None) -> bool:
    """Create the demo network unless it is there; True when anything was added."""
    actor = system_actor("demo")
    added = False
    rng = random.Random(2026)
    base = datetime(2025, 1, 6, 8, 0)
    central = _central_site(actor)
    if not db.session.execute(select(Container.id).where(Container.parent_id == central.container_id)
                              .limit(1)).first():
        progress(f"Building {TANKS} tanks of {RACKS} racks x {BOXES} boxes x {ROWS}x{COLS} ...")
        build_demo_layout(actor)
        progress("Registering demo samples ...")
        tissue = _register(actor, central.container_id, "BB", DONORS, rng, base)
        for barcode in tissue[: DONORS // 2]:
            samples.aliquot_sample(actor, barcode, count=2, volume="0.25", strategy="spread")
        for barcode in tissue[DONORS // 2: DONORS // 2 + 5]:
            samples.checkout_sample(actor, barcode, reason="demo: on the bench for sectioning")
        added = True
    had_regions = db.session.execute(select(Site.id).where(Site.code == REGIONS[-1]["code"])).first()
    _regions(actor, rng, base, progress)
    _users(actor)
    had_shipment = db.session.execute(select(Shipment.id).limit(1)).first()
    _in_transit(actor)
    return added or not had_regions or not had_shipment
