"""The demo biobank: 26 LN2 tanks (about 40,000 positions), a few hundred
samples with lineage, and one user of each role. Loading is idempotent."""
import random
from datetime import datetime, timedelta

from sqlalchemy import select

from .auth.models import User
from .auth.service import create_user
from .core.actor import system_actor
from .extensions import db
from .samples import service as samples
from .storage import service as storage
from .storage.models import Container

SITE_BARCODE = "CBB"
DEMO_USERS = (("admin", "admin", "admin-demo-pass"), ("manager", "manager", "manager-demo-pass"),
              ("tech", "technician", "tech-demo-pass"), ("researcher", "researcher", "researcher-demo-pass"))
TANKS, RACKS, BOXES, ROWS, COLS = 26, 4, 4, 10, 10
DONORS = 60


def build_demo_layout(actor) -> Container:
    """The demo site: TANKS LN2 tanks of RACKS racks of BOXES boxes of ROWS x COLS."""
    site = storage.create_container(actor, name="Central Biobank", kind="site", barcode=SITE_BARCODE)
    for number in range(1, TANKS + 1):
        storage.build_layout(actor, parent_id=site.id, name=f"Tank {number:02d}", kind="tank", racks=RACKS,
                             boxes_per_rack=BOXES, rows=ROWS, cols=COLS, storage_temperature="LN2_vapor")
    return site


def load_demo(progress=lambda message: None) -> bool:
    """Create the demo biobank unless it is there; True when it was created."""
    actor = system_actor("demo")
    for username, role, password in DEMO_USERS:
        if not db.session.execute(select(User.id).where(User.username == username)).first():
            create_user(actor, username, password, role)
    if db.session.execute(select(Container.id).where(Container.barcode == SITE_BARCODE)).first():
        return False
    progress(f"Building {TANKS} tanks of {RACKS} racks x {BOXES} boxes x {ROWS}x{COLS} ...")
    build_demo_layout(actor)
    progress("Registering demo samples ...")
    rng = random.Random(2026)
    base = datetime(2025, 1, 6, 8, 0)
    sites = [("C50.9", "C50.9"), ("C18.7", "C18.7"), ("C34.1", "C34.1"), ("C61.9", "C61"), ("C64.9", "C64")]
    tissue = []
    for d in range(1, DONORS + 1):
        donor = f"DEMO-D{d:04d}"
        topography, icd10 = sites[d % len(sites)]
        when = (base + timedelta(days=rng.randint(0, 600), hours=rng.randint(0, 8))).isoformat() + "Z"
        for kind, volume, temp in (("tissue_frozen", "1.0", "LN2_vapor"), ("plasma", "2.0", "LN2_vapor"),
                                   ("serum", "1.5", "LN2_vapor")):
            code = {"tissue_frozen": "T", "plasma": "P", "serum": "S"}[kind]
            sample = samples.register_sample(
                actor, barcode=f"BB{d:04d}{code}", sample_type=kind, donor=donor, collected_at=when,
                volume=volume, unit="mL" if kind != "tissue_frozen" else "mg",
                anatomical_site=topography if kind == "tissue_frozen" else None, diagnosis=icd10,
                storage_temperature=temp, location={"strategy": "spread"})
            if kind == "tissue_frozen":
                tissue.append(sample.barcode)
    for barcode in tissue[: DONORS // 2]:
        samples.aliquot_sample(actor, barcode, count=2, volume="0.25", strategy="spread")
    for barcode in tissue[DONORS // 2: DONORS // 2 + 5]:
        samples.checkout_sample(actor, barcode, reason="demo: on the bench for sectioning")
    return True
