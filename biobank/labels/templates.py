"""Label templates a biobank edits without touching code (the top-level labels/ folder).

- `<name>.toml`: a label design in millimetres (size, where the Code 128, the
  Data Matrix and the text lines go, the smallest readable module sizes).
- `<name>.zpl`: its ZPL for Zebra printers, with `{placeholders}` filled in
  dots for the printer's resolution; `<name>-<dpi>.zpl` wins where present.
- `sheet-<name>.toml`: a page of die-cut labels for PDF printing.
- `settings.toml`: which templates and sheet are used by default, and limits.

Files are read when used (cached until they change), so an edit takes effect
with the next label. Everything here is pure: no database, no Flask.
"""
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from flask_babel import gettext as _

from ..core.errors import DomainError
from . import zpl

NAME_RE = re.compile(r"\A[a-z0-9][a-z0-9_-]{0,63}\Z")
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z0-9_]*)\}")
KINDS = ("sample", "container")
# The printer font for a text line that font 0 cannot print (see labels/README.md), and what a name
# on the printer looks like: a drive letter, a colon, a file name of up to 16 characters.
ZPL_UNICODE_FONT = "E:ANMDJ.TTF"
PRINTER_FONT_RE = re.compile(r"\A[A-Z]:[A-Z0-9_-]{1,16}\.(TTF|TTE|FNT)\Z", re.IGNORECASE)

# Text fields a line may use, per kind of label.
SAMPLE_FIELDS = ("barcode", "sample_type", "collected", "location", "box", "position", "volume", "parent",
                 "donor")
CONTAINER_FIELDS = ("barcode", "name", "kind", "path", "parent_path", "grid", "temperature")
FIELDS = {"sample": SAMPLE_FIELDS, "container": CONTAINER_FIELDS}

# Placeholders a ZPL template may use besides the text fields (all in printer dots).
ZPL_VALUES = ("dpi", "width", "height", "code128_x", "code128_y", "code128_module", "code128_height",
              "code128_data", "datamatrix_x", "datamatrix_y", "datamatrix_module", "datamatrix_data", "text")


class LabelTemplateError(DomainError):
    """A template file is missing or wrong: the biobank's configuration, not the request."""
    status = 500
    code = "label_template_invalid"


class UnknownTemplate(DomainError):
    status = 422
    code = "unknown_label_template"


@dataclass(frozen=True)
class Area:
    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float
    min_module_mm: float
    max_module_mm: float


@dataclass(frozen=True)
class TextLine:
    text: str
    baseline_mm: float
    size_mm: float
    bold: bool = False


@dataclass(frozen=True)
class LabelTemplate:
    name: str
    title: str
    kind: str
    width_mm: float
    height_mm: float
    code128: Area
    datamatrix: Area
    text_x_mm: float
    text_width_mm: float
    text_min_size_mm: float
    lines: tuple[TextLine, ...]
    zpl_unicode_font: str = ZPL_UNICODE_FONT
    zpl: dict = field(default_factory=dict, compare=False, hash=False)   # dpi (0 = any) -> template text

    def zpl_for(self, dpi: int) -> str:
        return self.zpl.get(dpi) or self.zpl[0]


@dataclass(frozen=True)
class SheetCells:
    columns: int
    rows: int
    label_width_mm: float
    label_height_mm: float
    left_mm: float
    top_mm: float
    gap_x_mm: float
    gap_y_mm: float

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def origin_mm(self, index: int) -> tuple[float, float]:
        """Top-left corner of the cell `index` (0-based, row by row) on its page."""
        row, col = divmod(index % self.per_page, self.columns)
        return (self.left_mm + col * (self.label_width_mm + self.gap_x_mm),
                self.top_mm + row * (self.label_height_mm + self.gap_y_mm))


@dataclass(frozen=True)
class Sheet:
    name: str
    title: str
    width_mm: float
    height_mm: float
    cells: dict   # template name -> SheetCells


@dataclass(frozen=True)
class Settings:
    sample_template: str = "cryovial"
    container_template: str = "box"
    sheet: str = "a4"
    zpl_dpi: int = 203
    image_dpi: int = 600
    max_labels: int = 2000
    max_image_labels: int = 200


# -- reading files -------------------------------------------------------------------
def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        if what == "sheet":
            raise UnknownTemplate(_("'%(name)s' is not a sheet name (lower-case letters, digits, - and _).", name=name))
        raise UnknownTemplate(_("'%(name)s' is not a label template name (lower-case letters, digits, - and _).",
                                name=name))
    return name


def _stamp(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise LabelTemplateError(_("%(file)s is not valid TOML: %(problem)s.", file=path.name, problem=exc)) from None


def _number(table: dict, key: str, where: str, *, minimum: float = 0.0) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise LabelTemplateError(_("%(where)s: '%(key)s' must be a number of at least %(min)s.", where=where, key=key,
                                   min=minimum))
    return float(value)


def _count(table: dict, key: str, where: str) -> int:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LabelTemplateError(_("%(where)s: '%(key)s' must be a whole number of at least 1.", where=where, key=key))
    return value


def _section(data: dict, key: str, where: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise LabelTemplateError(_("%(where)s has no [%(key)s] section.", where=where, key=key))
    return value


def _area(data: dict, key: str, where: str, *, square: bool = False) -> Area:
    table = _section(data, key, where)
    at = f"{where} [{key}]"
    if square:
        width = height = _number(table, "size_mm", at, minimum=1)
    else:
        width, height = _number(table, "width_mm", at, minimum=1), _number(table, "height_mm", at, minimum=1)
    low = _number(table, "min_module_mm", at, minimum=0.05)
    high = _number(table, "max_module_mm", at, minimum=low)
    return Area(_number(table, "x_mm", at), _number(table, "y_mm", at), width, height, low, high)


def _printer_font(text: dict, where: str) -> str:
    value = text.get("zpl_unicode_font", ZPL_UNICODE_FONT)
    if not isinstance(value, str) or not PRINTER_FONT_RE.fullmatch(value):
        raise LabelTemplateError(_("%(file)s: [text] zpl_unicode_font must name a font on the printer, such as "
                                   "%(example)s (drive, colon, file name).", file=where, example=ZPL_UNICODE_FONT))
    return value


def check_placeholders(text: str, allowed, where: str) -> None:
    unknown = sorted({name for name in PLACEHOLDER_RE.findall(text) if name not in allowed})
    if unknown:
        raise LabelTemplateError(_("%(where)s uses unknown placeholder(s) %(unknown)s; known: %(known)s.", where=where,
                                   unknown=", ".join("{" + u + "}" for u in unknown), known=", ".join(sorted(allowed))))


def fill(text: str, values: dict) -> str:
    """Replace {name} by values[name] (names were checked when the template was read)."""
    return PLACEHOLDER_RE.sub(lambda m: str(values.get(m.group(1), "")), text)


@lru_cache(maxsize=64)
def _parse_template(directory: Path, name: str, stamps) -> LabelTemplate:
    """`stamps` (the files' modification times) is the cache key: an edited file is read again."""
    path = directory / f"{name}.toml"
    data = _read_toml(path)
    where = path.name
    if not isinstance(data.get("label"), dict):
        raise UnknownTemplate(_("'%(name)s' is not a label template (%(file)s has no [label] table).", name=name,
                                file=where))
    label = _section(data, "label", where)
    kind = label.get("kind", "sample")
    if kind not in KINDS:
        raise LabelTemplateError(_("%(where)s: [label] kind must be one of %(kinds)s.", where=where,
                                   kinds=", ".join(KINDS)))
    width, height = _number(label, "width_mm", where, minimum=5), _number(label, "height_mm", where, minimum=5)
    text = _section(data, "text", where)
    lines = []
    for number, line in enumerate(text.get("lines") or [], start=1):
        at = f"{where} [[text.lines]] #{number}"
        if not isinstance(line, dict) or not isinstance(line.get("text"), str):
            raise LabelTemplateError(_("%(where)s needs a text.", where=at))
        check_placeholders(line["text"], FIELDS[kind], at)
        lines.append(TextLine(line["text"], _number(line, "baseline_mm", at, minimum=0.5),
                              _number(line, "size_mm", at, minimum=0.5), bool(line.get("bold", False))))
    template = LabelTemplate(
        name=name, title=str(label.get("name") or name), kind=kind, width_mm=width, height_mm=height,
        code128=_area(data, "code128", where), datamatrix=_area(data, "datamatrix", where, square=True),
        text_x_mm=_number(text, "x_mm", where), text_width_mm=_number(text, "width_mm", where, minimum=1),
        text_min_size_mm=_number(text, "min_size_mm", where, minimum=0.5), lines=tuple(lines),
        zpl_unicode_font=_printer_font(text, where), zpl=_read_zpl(directory, name, kind))
    for what, area in (("code128", template.code128), ("datamatrix", template.datamatrix)):
        if area.x_mm + area.width_mm > width + 1e-6 or area.y_mm + area.height_mm > height + 1e-6:
            raise LabelTemplateError(_("%(where)s: the [%(area)s] area reaches past the %(width)s x %(height)s mm label.",
                                       where=where, area=what, width=width, height=height))
    return template


def _zpl_files(directory: Path, name: str) -> list[tuple[int, Path]]:
    """(0, name.zpl) and (dpi, name-<dpi>.zpl) for each resolution-specific file."""
    pattern = re.compile(rf"{re.escape(name)}-(\d+)")
    specific = sorted((int(m.group(1)), p) for p in directory.glob(f"{name}-*.zpl")
                      if (m := pattern.fullmatch(p.stem)))
    return [(0, directory / f"{name}.zpl")] + specific


def _read_zpl(directory: Path, name: str, kind: str) -> dict:
    found = {}
    for dpi, path in _zpl_files(directory, name):
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        if text.count("^XA") != 1 or text.count("^XZ") != 1 or text.index("^XA") > text.index("^XZ"):
            raise LabelTemplateError(_("%(file)s must hold exactly one label: one ^XA ... ^XZ.", file=path.name))
        check_placeholders(text, set(ZPL_VALUES) | set(FIELDS[kind]), path.name)
        try:
            zpl.check_template(text, path.name)
        except zpl.ZplError as exc:
            raise LabelTemplateError(str(exc)) from None
        found[dpi] = text.strip() + "\n"
    if 0 not in found:
        raise LabelTemplateError(_("The label template %(name)s has no %(name)s.zpl for Zebra printers.", name=name))
    return found


def load_template(directory: Path, name: str) -> LabelTemplate:
    _check_name(name, "label template")
    if name == "settings" or name.startswith("sheet-"):  # the folder's other files are not label templates
        known = ", ".join(template_names(directory))
        raise UnknownTemplate(_("'%(name)s' is not a label template (known: %(known)s).", name=name,
                                known=known or _("none")))
    files = [directory / f"{name}.toml"] + [path for _, path in _zpl_files(directory, name)]
    stamps = tuple((p.name, _stamp(p)) for p in files)
    if stamps[0][1] is None:
        raise UnknownTemplate(_("There is no label template '%(name)s' (%(name)s.toml in %(directory)s).", name=name,
                                directory=directory))
    return _parse_template(directory, name, stamps)


@lru_cache(maxsize=16)
def _cached_sheet(path: Path, stamp) -> Sheet:
    data = _read_toml(path)
    where = path.name
    page = _section(data, "page", where)
    width, height = _number(page, "width_mm", where, minimum=20), _number(page, "height_mm", where, minimum=20)
    cells = {}
    for template, table in data.items():
        if template == "page":
            continue
        at = f"{where} [{template}]"
        if not isinstance(table, dict):
            raise LabelTemplateError(_("%(where)s must be a section.", where=at))
        spec = SheetCells(_count(table, "columns", at), _count(table, "rows", at),
                          _number(table, "label_width_mm", at, minimum=5), _number(table, "label_height_mm", at, minimum=5),
                          _number(table, "left_mm", at), _number(table, "top_mm", at),
                          _number(table, "gap_x_mm", at), _number(table, "gap_y_mm", at))
        right = spec.left_mm + spec.columns * spec.label_width_mm + (spec.columns - 1) * spec.gap_x_mm
        bottom = spec.top_mm + spec.rows * spec.label_height_mm + (spec.rows - 1) * spec.gap_y_mm
        if right > width + 1e-6 or bottom > height + 1e-6:
            raise LabelTemplateError(_("%(where)s: %(columns)s x %(rows)s labels do not fit on the %(width)s x %(height)s mm "
                                       "page (they reach %(right)s x %(bottom)s mm).", where=at, columns=spec.columns,
                                       rows=spec.rows, width=width, height=height, right=f"{right:.1f}",
                                       bottom=f"{bottom:.1f}"))
        cells[template] = spec
    return Sheet(path.stem.removeprefix("sheet-"), str(page.get("name") or path.stem), width, height, cells)


def load_sheet(directory: Path, name: str) -> Sheet:
    _check_name(name, "sheet")
    path = directory / f"sheet-{name}.toml"
    stamp = _stamp(path)
    if stamp is None:
        known = ", ".join(sorted(p.stem.removeprefix("sheet-") for p in directory.glob("sheet-*.toml")))
        raise UnknownTemplate(_("There is no sheet layout '%(name)s' (known: %(known)s; or 'label' for one label per "
                                "page).", name=name, known=known or _("none")), code="unknown_sheet")
    return _cached_sheet(path, stamp)


@lru_cache(maxsize=4)
def _cached_settings(path: Path, stamp) -> Settings:
    data = _read_toml(path) if stamp is not None else {}
    defaults = Settings()
    values = {}
    for key, default in defaults.__dict__.items():
        value = data.get(key, default)
        if type(value) is not type(default) or (isinstance(value, int) and value < 1):
            raise LabelTemplateError(_("settings.toml: '%(key)s' must be a %(type)s like %(example)s.", key=key,
                                       type=type(default).__name__, example=repr(default)))
        values[key] = value
    return Settings(**values)


def load_settings(directory: Path) -> Settings:
    path = directory / "settings.toml"
    return _cached_settings(path, _stamp(path))


def template_names(directory: Path) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml")
                  if p.stem != "settings" and not p.stem.startswith("sheet-"))
