"""Rack-scan reconciliation: what a rack scanner saw in a box against what the
inventory says is there.

Scanner files (DESIGN.md): CSV lines `POSITION,BARCODE` or
`RACK,POSITION,BARCODE`, an optional header line, positions `A1` or `A01`,
`NO READ` and `NO TUBE` (or an empty field) as markers, CRLF allowed.

This module only reads. Applying corrections is `reports.service.apply_reconciliation`.
"""
import csv
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core.csv_input import problem_text
from ..core.display import display
from ..core.errors import InvalidInput, InvalidPosition
from ..core.permissions import require, require_at
from ..extensions import db
from ..samples.models import Sample
from ..samples.validation import BARCODE_RE
from ..storage import positions
from ..storage.models import Container
from ..storage.service import get_container

NO_READ, NO_TUBE = "no_read", "no_tube"
_MARKERS = {"NOREAD": NO_READ, "NOTUBE": NO_TUBE, "": NO_TUBE}
MAX_BAD_LINES_SHOWN = 20
# Samples in these states sit in a position and can be moved by a correction.
MOVABLE = ("available", "reserved")


@dataclass(frozen=True)
class ScanLine:
    line: int            # 1-based line number in the file
    rack: str | None
    row: int
    col: int
    barcode: str | None  # None for a marker
    marker: str | None   # NO_READ, NO_TUBE or None

    @property
    def position(self) -> str:
        return positions.label(self.row, self.col)


@dataclass
class Scan:
    lines: list[ScanLine]
    racks: list[str]
    header: bool


def _marker(value: str) -> str | None:
    return _MARKERS.get(re.sub(r"[\s_\-]", "", value).upper())


def _is_position(text: str) -> bool:
    try:
        positions.parse(text)
        return True
    except InvalidPosition:
        return False


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("The scan file is not text (UTF-8 or ASCII)."), code="invalid_encoding") from None


def parse_scan(text: str, rows: int, cols: int) -> Scan:
    """Parse a scanner file for a rows × cols box; 422 naming every bad line."""
    problems: list[dict] = []
    lines: list[ScanLine] = []
    seen_positions: dict[tuple, int] = {}
    seen_barcodes: dict[str, int] = {}
    racks: list[str] = []
    width = None
    header = False
    first = True
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            fields = [f.strip() for f in next(csv.reader([raw]))]
        except csv.Error as exc:
            problems.append({"line": number, "problem": problem_text(exc)})
            continue
        is_first, first = first, False
        if len(fields) not in (2, 3):
            problems.append({"line": number, "problem": _("%(num)s fields; expected POSITION,BARCODE or "
                                                          "RACK,POSITION,BARCODE", num=len(fields))})
            continue
        rack, position, barcode = (None, *fields) if len(fields) == 2 else fields
        if is_first and not _is_position(position):
            header, width = True, len(fields)  # a header line such as "Rack,Position,Barcode"
            continue
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            problems.append({"line": number, "problem": _("%(num)s fields where the file has %(width)s",
                                                          num=len(fields), width=width)})
            continue
        try:
            row, col = positions.parse(position, rows, cols)
        except InvalidPosition as exc:
            problems.append({"line": number, "problem": exc.message})
            continue
        marker = _marker(barcode)
        if marker is None and not BARCODE_RE.fullmatch(barcode):
            shown = barcode if len(barcode) <= 40 else barcode[:40] + "…"
            problems.append({"line": number, "problem": _("'%(value)s' is neither a barcode (3..64 characters of "
                                                          "A-Z a-z 0-9 - _ .) nor NO READ / NO TUBE", value=shown)})
            continue
        if (row, col) in seen_positions:
            problems.append({"line": number, "problem": _("position %(position)s is already on line %(line)s",
                                                          position=positions.label(row, col),
                                                          line=seen_positions[(row, col)])})
            continue
        seen_positions[(row, col)] = number
        if marker is None:
            if barcode in seen_barcodes:
                problems.append({"line": number, "problem": _("barcode %(barcode)s is already on line %(line)s",
                                                              barcode=barcode, line=seen_barcodes[barcode])})
                continue
            seen_barcodes[barcode] = number
        if rack and rack not in racks:
            racks.append(rack)
        lines.append(ScanLine(number, rack, row, col, None if marker else barcode, marker))
    if problems:
        shown = "; ".join(_("line %(line)s: %(problem)s", line=p["line"], problem=p["problem"])
                          for p in problems[:MAX_BAD_LINES_SHOWN])
        if len(problems) > MAX_BAD_LINES_SHOWN:
            message = _("The scan file has %(num)s bad line(s): %(shown)s (and %(more)s more).", num=len(problems),
                        shown=shown, more=len(problems) - MAX_BAD_LINES_SHOWN)
        else:
            message = _("The scan file has %(num)s bad line(s): %(shown)s.", num=len(problems), shown=shown)
        raise InvalidInput(message, code="invalid_scan_file", details=problems)
    if not lines:
        raise InvalidInput(_("The scan file holds no POSITION,BARCODE lines."), code="invalid_scan_file",
                           details=[])
    if len(racks) > 1:
        raise InvalidInput(_("The scan file holds several racks (%(racks)s); upload one rack per box.",
                             racks=", ".join(racks)), code="invalid_scan_file", details=[])
    return Scan(lines, racks, header)


def reconcile(actor, container_id: int, data: bytes) -> dict:
    """Compare a rack-scanner file with the inventory of one box.

    matched     scanned here at the position the inventory says
    missing     the inventory says here, not in the scan (and its position was read)
    unexpected  scanned here, but the inventory has it elsewhere, out of storage or not at all
    misplaced   in this box by both, at another position
    no_read     the scanner could not read the tube (with the barcode expected there, if any)
    """
    require(actor, "reports.read")
    box = get_container(container_id)
    require_at(actor, "reports.read", box)
    if not box.is_grid:
        raise InvalidInput(_("%(path)s is a %(kind)s; a rack scan reconciles a box.", path=box.path, kind=box.kind),
                           code="not_a_box")
    scan = parse_scan(decode(data), box.rows, box.cols)

    expected = {(s.pos_row, s.pos_col): s.barcode for s in db.session.execute(
        select(Sample.pos_row, Sample.pos_col, Sample.barcode).where(Sample.container_id == box.id))}
    expected_at = {barcode: pos for pos, barcode in expected.items()}
    scanned = {line.barcode: line for line in scan.lines if line.barcode}
    no_read_positions = {(line.row, line.col) for line in scan.lines if line.marker == NO_READ}
    others = _elsewhere([b for b in scanned if b not in expected_at])

    matched, misplaced, unexpected, missing, no_read = [], [], [], [], []
    for line in scan.lines:
        pos = (line.row, line.col)
        if line.marker == NO_READ:
            no_read.append({"position": line.position, "line": line.line, "expected_barcode": expected.get(pos)})
        if not line.barcode:
            continue
        if expected_at.get(line.barcode) == pos:
            matched.append({"position": line.position, "barcode": line.barcode})
        elif line.barcode in expected_at:
            misplaced.append({"position": line.position, "barcode": line.barcode,
                              "expected_position": positions.label(*expected_at[line.barcode]),
                              "correctable": True, "line": line.line})
        else:
            unexpected.append(_unexpected(line, others.get(line.barcode), box))
    for pos, barcode in sorted(expected.items()):
        if barcode not in scanned and pos not in no_read_positions:
            missing.append({"position": positions.label(*pos), "barcode": barcode,
                            "scanned_as": _scanned_there(scan, pos)})
    corrections = [{"barcode": item["barcode"], "position": item["position"]}
                   for item in misplaced + unexpected if item["correctable"]]
    return {
        "container": {"id": box.id, "barcode": box.barcode, "path": box.path, "rows": box.rows, "cols": box.cols},
        "rack_barcode": scan.racks[0] if scan.racks else None,
        "warnings": _warnings(scan, box),
        "lines": len(scan.lines),
        "matched": matched, "missing": missing, "unexpected": unexpected, "misplaced": misplaced,
        "no_read": no_read,
        "summary": {"matched": len(matched), "missing": len(missing), "unexpected": len(unexpected),
                    "misplaced": len(misplaced), "no_read": len(no_read),
                    "empty": sum(1 for line in scan.lines if line.marker == NO_TUBE)},
        "corrections": corrections,
    }


def _elsewhere(barcodes: list[str]) -> dict[str, Sample]:
    found = {}
    for start in range(0, len(barcodes), 500):
        chunk = barcodes[start:start + 500]
        for sample in db.session.execute(select(Sample).where(Sample.barcode.in_(chunk))
                                         .options(selectinload(Sample.container))).scalars():
            found[sample.barcode] = sample
    return found


def _unexpected(line: ScanLine, sample: Sample | None, box: Container) -> dict:
    item = {"position": line.position, "barcode": line.barcode, "line": line.line, "known": sample is not None,
            "status": sample.status if sample else None,
            "system_location": sample.location_path if sample else None}
    if sample is None:
        item.update(correctable=False, why=_("not registered in the inventory; register it first"))
    elif sample.status not in MOVABLE or not sample.container_id:
        item.update(correctable=False, why=_("the inventory has it %(status)s, not in storage; return or "
                                             "re-register it instead", status=display(sample.status, "status")))
    elif box.accepts(sample.sample_type, sample.storage_temperature):
        item.update(correctable=False, why=box.accepts(sample.sample_type, sample.storage_temperature))
    else:
        item.update(correctable=True, why=None)
    return item


def _scanned_there(scan: Scan, pos: tuple) -> str | None:
    """What the scanner reported at a position whose expected tube is missing."""
    for line in scan.lines:
        if (line.row, line.col) == pos:
            return line.barcode or "NO TUBE"
    return None


def _warnings(scan: Scan, box: Container) -> list[str]:
    warnings = []
    rack = scan.racks[0] if scan.racks else None
    if rack and rack != box.barcode:
        other = db.session.execute(select(Container).where(Container.barcode == rack)).scalar_one_or_none()
        if other is not None:
            warnings.append(_("The file is for rack %(rack)s, which is %(path)s, not %(box)s.", rack=rack,
                              path=other.path, box=box.path))
    return warnings
