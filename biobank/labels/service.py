"""Label services: render the labels of samples and boxes and record the printing.

Printing (or reprinting) a label is a custody event: one `label.printed` event
per label handed out (`record=True`, what a POST or the CLI asks for; a GET only
previews and writes nothing), in the caller's transaction, with how many labels that
subject had before (`changes.label_prints`), so a reprint is visible in the
chain. Rendering happens first: a barcode too long for the label refuses the
whole request and records nothing. Like every service, these never commit.
"""
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..config import PROJECT_ROOT
from ..core.errors import InvalidInput, UnknownBarcode
from ..core.permissions import require
from ..custody import service as custody
from ..custody import queries as custody_queries
from ..extensions import db
from ..samples.models import Sample
from ..samples.validation import check_barcode
from ..storage.models import Container, kind_name
from ..storage.positions import label as position_label
from ..storage.service import get_container
from . import layout, render
from .layout import RESOLUTIONS
from .templates import LabelTemplate, Settings, UnknownTemplate, load_settings, load_template, template_names

ACTION = "label.printed"
FORMATS = render.FORMATS


@dataclass(frozen=True)
class LabelFile:
    content: bytes
    format: str
    filename: str
    count: int

    @property
    def mimetype(self) -> str:
        return render.MIMETYPES[self.format]


def labels_dir() -> Path:
    """The label templates: BIOBANK_LABELS_PATH (app config or environment), else labels/ of the project."""
    configured = (current_app.config.get("BIOBANK_LABELS_PATH") if has_app_context() else None) \
        or os.environ.get("BIOBANK_LABELS_PATH")
    return Path(configured) if configured else PROJECT_ROOT / "labels"


# -- the label text of samples and containers --------------------------------------------
def sample_fields(sample: Sample) -> dict:
    if sample.container_id:
        box, row, col = sample.container, sample.pos_row, sample.pos_col
    else:  # out of storage: the place it goes back to
        box, row, col = sample.home_container, sample.home_row, sample.home_col
    position = position_label(row, col) if box is not None else ""
    volume = ""
    if sample.volume is not None:
        volume = f"{format(sample.volume.normalize(), 'f')} {sample.unit or ''}".strip()
    return {"barcode": sample.barcode, "sample_type": sample.sample_type,
            "collected": sample.collected_at.date().isoformat() if sample.collected_at else "",
            "location": f"{box.barcode}-{position}" if box is not None else "",
            "box": box.barcode if box is not None else "", "position": position, "volume": volume,
            "parent": sample.parent_barcode or "", "donor": sample.donor or ""}


def container_fields(container: Container) -> dict:
    parent_path = container.path.rsplit(" / ", 1)[0] if " / " in container.path else ""
    return {"barcode": container.barcode, "name": container.name, "kind": container.kind, "path": container.path,
            "parent_path": parent_path, "grid": f"{container.rows}x{container.cols}" if container.is_grid else "",
            "temperature": container.effective_temperature or ""}


# -- rendering -----------------------------------------------------------------------------
def _template(directory: Path, settings: Settings, name: str | None, kind: str) -> LabelTemplate:
    template = load_template(directory, name or (settings.sample_template if kind == "sample"
                                                 else settings.container_template))
    if template.kind != kind:
        raise UnknownTemplate(_("The label template '%(name)s' is for %(kind)ss, not %(wanted)ss.", name=template.name,
                                kind=template.kind, wanted=kind))
    return template


def _chunks(values: list, size: int = 500):
    """The distinct values, `size` at a time (bounded IN lists)."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), size):
        yield unique[start:start + size]


def _previous_prints(name: str, subject_type: str, keys: list) -> dict:
    """How many labels each subject has had, those printed earlier in this unit of work included."""
    events = custody_queries.recorded("action", "subject_type", name)
    column = events.c[name]
    found = {}
    for chunk in _chunks(keys):
        rows = db.session.execute(
            select(column, func.count()).where(events.c.action == ACTION,
                                               events.c.subject_type == subject_type, column.in_(chunk))
            .group_by(column))
        found.update(dict(rows.all()))
    return found


def _record_prints(actor, subject_type: str, subjects: list, describe: str, reason: str | None) -> None:
    """One custody event per label: subjects are samples or containers, in print order."""
    if subject_type == "sample":
        before = _previous_prints("sample_barcode", "sample", [s.barcode for s in subjects])
        key = lambda s: s.barcode  # noqa: E731
    else:
        before = _previous_prints("container_id", "container", [c.id for c in subjects])
        key = lambda c: c.id  # noqa: E731
    seen = Counter()
    entries = []
    for subject in subjects:
        count = before.get(key(subject), 0) + seen[key(subject)]
        seen[key(subject)] += 1
        details = {"reason": reason, "changes": {"label_prints": [count, count + 1], "label": [None, describe]}}
        if subject_type == "sample":
            details.update(sample_barcode=subject.barcode, container_id=subject.container_id)
        else:
            details.update(container_id=subject.id)
        entries.append((actor, ACTION, subject_type, subject.barcode, details))
    custody.record_many(entries)


def _print(actor, kind: str, subjects: list, fields: list[dict], *, format: str, dpi, sheet, skip, template,
           reason, filename: str, title: str, record: bool = True) -> LabelFile:
    directory = labels_dir()
    settings = load_settings(directory)
    chosen = _template(directory, settings, template, kind)
    fmt = format or "png"
    dpi = dpi or render.default_dpi(settings, fmt)
    content = render.render_labels(chosen, [(f["barcode"], f) for f in fields], directory=directory, fmt=fmt,
                                   dpi=dpi, sheet=sheet, skip=skip or 0, settings=settings, title=title)
    describe = f"{chosen.name} {fmt} {dpi} dpi"
    if record:
        _record_prints(actor, kind, subjects, describe, reason)
    return LabelFile(content, fmt, f"{filename}.{fmt}", len(subjects))


# -- the services ----------------------------------------------------------------------------
def _samples_by_barcode(barcodes: list[str]) -> dict[str, Sample]:
    found = {}
    for chunk in _chunks(barcodes):
        rows = db.session.execute(
            select(Sample).where(Sample.barcode.in_(chunk))
            .options(selectinload(Sample.container), selectinload(Sample.home_container),
                     selectinload(Sample.parent))).scalars()
        found.update({sample.barcode: sample for sample in rows})
    return found


def print_sample_labels(actor, barcodes: list[str], *, format: str = "png", dpi: int | None = None,
                        sheet: str | None = None, skip: int = 0, template: str | None = None,
                        reason: str | None = None, record: bool = True) -> LabelFile:
    """Labels for these samples, in the order given (an import batch, or one sample)."""
    require(actor, "samples.handle")
    if not barcodes:
        raise InvalidInput(_("Give at least one barcode."), code="nothing_to_print")
    for barcode in barcodes:
        check_barcode(barcode)
    found = _samples_by_barcode(barcodes)
    missing = [b for b in dict.fromkeys(barcodes) if b not in found]
    if missing:
        shown = ", ".join(missing[:10]) + (", ..." if len(missing) > 10 else "")
        raise UnknownBarcode(_("No sample has the barcode %(barcode)s.", barcode=shown) if len(missing) == 1 else
                             _("%(num)d barcodes are not registered samples: %(barcodes)s.", num=len(missing),
                               barcodes=shown),
                             details={"unknown": missing})
    samples = [found[b] for b in barcodes]
    filename = f"label-{barcodes[0]}" if len(barcodes) == 1 else f"labels-{len(barcodes)}"
    return _print(actor, "sample", samples, [sample_fields(s) for s in samples], format=format, dpi=dpi,
                  sheet=sheet, skip=skip, template=template, reason=reason, filename=filename,
                  title=_("Labels: %(barcodes)s", barcodes=", ".join(barcodes[:3]) + (" ..." if len(barcodes) > 3 else "")),
                  record=record)


def print_box_labels(actor, container_id: int, *, format: str = "png", dpi: int | None = None,
                     sheet: str | None = None, skip: int = 0, template: str | None = None,
                     reason: str | None = None, record: bool = True) -> LabelFile:
    """Labels for every sample in a box, in position order (A1, A2, ..., B1, ...)."""
    require(actor, "samples.handle")
    box = get_container(container_id)
    if not box.is_grid:
        raise InvalidInput(_("%(path)s is a %(kind)s; only boxes hold samples.", path=box.path, kind=kind_name(box.kind)),
                           code="not_a_box")
    samples = db.session.execute(
        select(Sample).where(Sample.container_id == box.id).order_by(Sample.pos_row, Sample.pos_col)
        .options(selectinload(Sample.parent))).scalars().all()
    if not samples:
        raise InvalidInput(_("%(path)s holds no samples: there are no labels to print.", path=box.path),
                           code="nothing_to_print")
    return _print(actor, "sample", samples, [sample_fields(s) for s in samples], format=format, dpi=dpi,
                  sheet=sheet, skip=skip, template=template, reason=reason, filename=f"labels-{box.barcode}",
                  title=_("Labels of %(path)s", path=box.path), record=record)


def print_container_label(actor, container_id: int, *, format: str = "png", dpi: int | None = None,
                          sheet: str | None = None, skip: int = 0, template: str | None = None,
                          reason: str | None = None, record: bool = True) -> LabelFile:
    """The label of a box (or any container) itself: its barcode, name and place."""
    require(actor, "samples.handle")
    container = get_container(container_id)
    return _print(actor, "container", [container], [container_fields(container)], format=format, dpi=dpi,
                  sheet=sheet, skip=skip, template=template, reason=reason, filename=f"label-{container.barcode}",
                  title=_("Label of %(path)s", path=container.path), record=record)


def limits(template: str | None = None) -> list[dict]:
    """What each label template holds at each resolution (read-only, no permission needed)."""
    directory = labels_dir()
    names = [template] if template else template_names(directory)
    return [layout.limits(load_template(directory, name), dpi) for name in names for dpi in RESOLUTIONS]
