"""Bulk registration from CSV (DESIGN.md): every row is checked first; one bad
row refuses the whole file, and every bad row is named by line and reason."""
import csv
import gc
import io
from contextlib import contextmanager

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..core.csv_input import checked, header_of
from ..core.db import read_before_writing
from ..core.errors import DomainError, ImportRejected, InvalidInput, NotPermitted
from ..core.permissions import require, require_at
from ..core.time import utcnow
from ..extensions import db
from ..storage.models import Container
from ..storage.placement import STRATEGIES, Allocator, placement_scope
from .models import Sample
from ..requests.models import RequestItem
from .service import ids_of, insert_samples, rows_where_in, status_name
from .validation import clean_fields

REQUIRED_COLUMNS = ("barcode", "sample_type", "donor", "collected_at", "volume", "unit", "anatomical_site",
                    "diagnosis", "parent_barcode")
OPTIONAL_COLUMNS = ("container_id", "position", "storage_temperature", "sprec", "notes")
MAX_ROWS = 200_000


def read_rows(text: str, required: tuple = REQUIRED_COLUMNS, optional: tuple = OPTIONAL_COLUMNS,
              expected: str = f"{','.join(REQUIRED_COLUMNS)}[,container_id,position]"
              ) -> tuple[list[str], list[tuple[int, dict]]]:
    """(header, [(line number, row), ...]); line 1 is the header. `required` and
    `optional` name the columns a file may have (the import's by default)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in header_of(reader)]
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(_("The header lacks the column(s) %(columns)s; expected %(expected)s.",
                             columns=", ".join(missing), expected=expected), code="invalid_header")
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise InvalidInput(_("The header names %(columns)s more than once.", columns=", ".join(duplicated)),
                           code="invalid_header")
    unknown = [c for c in header if c not in required + optional]
    if unknown:
        raise InvalidInput(_("Unknown column(s): %(columns)s.", columns=", ".join(unknown)), code="invalid_header")
    rows = []
    for row in checked(reader):
        barcode = row.get("barcode")
        if not (barcode and barcode.strip()) and \
                not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # blank line (a row with a barcode never is: most rows skip the full check)
        rows.append((reader.line_num, row))
        if len(rows) > MAX_ROWS:
            raise InvalidInput(_("A file holds at most %(num)d rows; split it.", num=MAX_ROWS), code="too_many_rows")
    if not rows:
        raise InvalidInput(_("The file has a header but no rows."), code="empty_file")
    return header, rows


def _existing(column, values: set) -> set:
    """Which of `values` are already in `column`. A table with fewer rows than the
    file (the containers, or no samples yet) is read whole in one query; a larger
    one is asked in chunks."""
    whole = db.session.execute(select(column).limit(len(values) + 1)).scalars().all()
    if len(whole) <= len(values):
        return values & set(whole)
    return {row[0] for row in rows_where_in((column,), column, values)}


def rejection(by_line: dict, total: int, done: str) -> ImportRejected:
    """The refusal of a whole file: every bad line, in order, with its reasons."""
    problems = sorted(by_line.values(), key=lambda e: e["line"])
    summary = "; ".join(_("line %(num)s: %(errors)s", num=e["line"], errors=", ".join(e["errors"]))
                        for e in problems[:10])
    more = " " + _("(and %(num)d more)", num=len(problems) - 10) if len(problems) > 10 else ""
    if done == "corrected":
        head = _("%(bad)d of %(total)d rows are bad, so nothing was corrected.", bad=len(problems), total=total)
    else:
        head = _("%(bad)d of %(total)d rows are bad, so nothing was imported.", bad=len(problems), total=total)
    return ImportRejected(f"{head} {summary}{more}", details=problems)


@contextmanager
def _cycle_collector_paused():
    """Pause Python's cyclic garbage collector (reference counting still frees memory).

    An import builds hundreds of thousands of small dicts, lists and tuples that
    form no cycles; as they pile up the collector would walk all of them again
    several times, a fifth of the import's time for nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def import_samples(actor, text: str, *, strategy: str = "compact", progress=None,
                   within: int | None = None) -> list[str]:
    """Check every row, then register all of them, or raise ImportRejected naming each bad line.
    Rows without a position are placed by the strategy inside the actor's site (or `within`)."""
    require(actor, "samples.handle")
    if strategy not in STRATEGIES:
        raise InvalidInput(_("Unknown placement strategy '%(strategy)s'.", strategy=strategy), code="invalid_strategy")
    scope_prefix = placement_scope(actor, within)
    with _cycle_collector_paused():
        return _import(actor, text, strategy, progress, scope_prefix)


def _needs_placing(raw: dict, positions_given: bool) -> bool:
    return not positions_given or not ((raw.get("container_id") or "").strip() or (raw.get("position") or "").strip())


def _refuse_what_cannot_fit(header: list[str], rows: list, scope_prefix: str | None) -> None:
    """More rows to place than free positions in the whole storage: refused at once, from two numbers,
    before every row is checked and before the write lock is taken (others keep working)."""
    positions_given = "container_id" in header or "position" in header
    needing = sum(1 for _, raw in rows if _needs_placing(raw, positions_given))
    if not needing:
        return
    with read_before_writing():
        boxes = select(func.coalesce(func.sum(Container.capacity - Container.used - Container.held), 0)).where(
            Container.rows.is_not(None))
        if scope_prefix is not None:
            boxes = boxes.where(Container.lineage.like(scope_prefix + "%"))
        free = int(db.session.execute(boxes).scalar_one())
    if needing > free:
        unplaced = [(line, raw) for line, raw in rows if _needs_placing(raw, positions_given)][free:]
        no_room = _("No box has room for it.")
        raise ImportRejected(
            _("No box has room for %(short)s of the %(needing)s samples to place (the storage has %(free)s free "
              "positions), so nothing was imported. Add boxes or split the file.", short=f"{needing - free:,}",
              needing=f"{needing:,}", free=f"{free:,}"),
            details=[{"line": line, "barcode": (raw.get("barcode") or "").strip(),
                      "errors": [no_room]} for line, raw in unplaced])


def _import(actor, text: str, strategy: str, progress, scope_prefix: str | None = None) -> list[str]:
    header, rows = read_rows(text)
    _refuse_what_cannot_fit(header, rows, scope_prefix)
    errors: list[dict] = []
    cleaned: list[tuple[int, dict, dict]] = []
    seen: dict[str, int] = {}
    now = utcnow()
    for line, raw in rows:
        clean, problems = clean_fields(raw, now)
        messages = [p.message for p in problems] if problems else None
        barcode = clean["barcode"]
        if isinstance(barcode, str) and seen.setdefault(barcode, line) != line:
            messages = (messages or []) + [_("barcode %(barcode)s is also on line %(line)s", barcode=barcode,
                                             line=seen[barcode])]
        cleaned.append((line, clean, raw))
        if messages:
            errors.append({"line": line, "barcode": barcode, "errors": messages})
        if progress:
            progress(1)
    by_line = {e["line"]: e for e in errors}

    def bad(line, barcode, message):
        by_line.setdefault(line, {"line": line, "barcode": barcode, "errors": []})["errors"].append(message)

    barcodes = {c["barcode"] for _, c, _ in cleaned if isinstance(c["barcode"], str)}
    for taken in _existing(Sample.barcode, barcodes):
        bad(seen[taken], taken, _("barcode %(barcode)s is already registered", barcode=taken))
    for taken in _existing(Container.barcode, barcodes):
        bad(seen[taken], taken, _("barcode %(barcode)s is a container's barcode", barcode=taken))
    parents = {c["parent_barcode"] for _, c, _ in cleaned if c["parent_barcode"]}
    parent_ids = ids_of(parents)
    if parents:
        _check_lineage(cleaned, parent_ids, seen, bad)
    positions_given = "container_id" in header or "position" in header
    allocator = Allocator(within=scope_prefix,
                          expected=sum(1 for _, raw in rows if _needs_placing(raw, positions_given)))
    site_checked: set[int] = set()
    entries = []
    for line, clean, raw in cleaned:
        parent = clean["parent_barcode"]
        parent_id = parent_ids.get(parent) if parent else None
        if parent and parent_id is None and not (parent in seen and seen[parent] < line):
            bad(line, clean["barcode"], _("parent %(barcode)s is not registered nor on an earlier line", barcode=parent))
        if line in by_line:
            continue
        try:
            container_id = (raw.get("container_id") or "").strip() if positions_given else ""
            position = (raw.get("position") or "").strip() if positions_given else ""
            if container_id or position:
                if not container_id.isdigit() or not position:
                    raise InvalidInput(_("give both container_id (a number) and position, or neither"))
                placement = allocator.at(int(container_id), position, clean["sample_type"],
                                         clean["storage_temperature"])
                if placement[0].id not in site_checked:  # each box's site once, not once per row
                    require_at(actor, "samples.handle", placement[0])
                    site_checked.add(placement[0].id)
            else:
                placement = allocator.place(strategy, clean["sample_type"], clean["storage_temperature"],
                                            clean["donor"])
        except NotPermitted:
            raise  # another site's box: the whole file is refused as not permitted
        except DomainError as exc:
            bad(line, clean["barcode"], exc.message)
            continue
        entries.append((clean, placement, parent_id))
    if by_line:
        raise rejection(by_line, len(rows), "imported")
    del rows, cleaned, seen  # the raw CSV rows are not needed any more: keep the peak down
    insert_samples(actor, entries, progress=progress, want_ids=False)
    return [clean["barcode"] for clean, _, _ in entries]


_GONE = ("consumed", "discarded", "shipped")


def _check_lineage(cleaned, parent_ids: dict, seen: dict, bad) -> None:
    """The rules of a child, row by row, as a registration applies them: the
    parent's donor (given to a child without one), and material that is still
    here and not held by a request. Quantities are taken as the file states
    them: a file records what each tube holds now, a parent's after its
    children were taken (an aliquot or POST /samples takes them itself)."""
    columns = (Sample.id, Sample.barcode, Sample.status, Sample.donor)
    existing = {row.barcode: row for row in rows_where_in(columns, Sample.barcode, parent_ids)}
    holding = {row.sample_id for row in rows_where_in((RequestItem.sample_id, RequestItem.holds),
                                                      RequestItem.sample_id, parent_ids.values()) if row.holds}
    in_file = {clean["barcode"]: clean for _, clean, _ in cleaned if isinstance(clean["barcode"], str)}
    for line, clean, _raw in cleaned:
        code, barcode = clean["parent_barcode"], clean["barcode"]
        if not code:
            continue
        if code in existing:
            parent = existing[code]
            if parent.status in _GONE:
                bad(line, barcode, _("parent %(barcode)s is %(status)s; nothing is left for a child", barcode=code,
                                     status=status_name(parent.status)))
                continue
            if parent.id in holding:
                bad(line, barcode, _("parent %(barcode)s is held by a request; take it off the request first",
                                     barcode=code))
                continue
            donor = parent.donor
        elif code in in_file and seen.get(code, line) < line:
            donor = in_file[code]["donor"]
        else:
            continue  # an unknown parent is named elsewhere
        if clean["donor"] is None:
            clean["donor"] = donor
        elif donor is not None and clean["donor"] != donor:
            bad(line, barcode, _("donor %(donor)s is not the donor %(parent_donor)s of its parent %(barcode)s",
                                 donor=clean["donor"], parent_donor=donor, barcode=code))
