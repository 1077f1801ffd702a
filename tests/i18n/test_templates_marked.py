"""No template shows a person text outside a gettext call.

Each template is read with Jinja's own lexer: its literal HTML (the `data` tokens, outside
`{% trans %}` blocks) is joined with every Jinja construct replaced by a space, then parsed as
HTML. Text nodes with letters fail, and so do the attributes a person reads (title, placeholder,
aria-label, alt, and the value of a button-like input); tags, entities, punctuation, numbers,
machine codes in <code>/<kbd>/<samp> and a few names that read the same in every language pass."""
import re
from html.parser import HTMLParser
from pathlib import Path

from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "biobank" / "templates"
# Names, formats, standards and units that are the same in every language, and the box map's one-letter
# mark for a reserved tube (a symbol beside ● and ⤴, explained by the legend next to it).
ALLOWED = ("Biobank", "°C", "mL", "µL", "LN2", "CSV", "PDF", "ZPL", "PNG", "JSON", "NDJSON", "FHIR", "API",
           "SPREC", "R")
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
BUTTON_INPUTS = ("submit", "button", "reset")
SKIPPED_ELEMENTS = ("script", "style", "code", "kbd", "samp")
LETTER = re.compile(r"[^\W\d_]")
ALLOWED_RE = re.compile("|".join(rf"(?<!\w){re.escape(word)}(?!\w)" for word in ALLOWED))


def readable(text: str) -> bool:
    return bool(LETTER.search(ALLOWED_RE.sub(" ", text)))


def literal_html(source: str, env: Environment) -> str:
    """The template's own HTML with every Jinja construct (and every {% trans %} block) a space."""
    parts, in_trans, after_begin = [], False, False
    for _, kind, value in env.lex(source):
        if kind == "block_begin":
            after_begin = True
            continue
        if after_begin and kind == "name":
            in_trans = value == "trans" or (in_trans and value != "endtrans")
        after_begin = False if kind != "whitespace" else after_begin
        parts.append(value if kind == "data" and not in_trans else " ")
    return "".join(parts)


class _Finder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_ELEMENTS:
            self.skipping += 1
        values = dict(attrs)
        for name, value in attrs:
            read = name in READ_ATTRIBUTES or (name == "value" and tag == "input"
                                                and (values.get("type") or "").lower() in BUTTON_INPUTS)
            if read and value and readable(value):
                self.found.append(f'{name}="{value.strip()}"')

    def handle_endtag(self, tag):
        if tag in SKIPPED_ELEMENTS and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and readable(data):
            self.found.append(" ".join(data.split()))


def unmarked(source: str, env: Environment) -> list[str]:
    finder = _Finder()
    finder.feed(literal_html(source, env))
    finder.close()
    return finder.found


def test_every_template_marks_its_text():
    env = Environment(extensions=["jinja2.ext.i18n"])
    found = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        texts = unmarked(path.read_text(encoding="utf-8"), env)
        if texts:
            found[str(path.relative_to(TEMPLATES))] = texts
    report = "\n".join(f"{name}: {texts}" for name, texts in found.items())
    assert not found, f"text outside _() in {len(found)} templates:\n{report}"


def test_the_check_sees_text_and_read_attributes_but_not_marked_text():
    env = Environment(extensions=["jinja2.ext.i18n"])
    source = """<h1>{{ _("Samples") }}</h1><p class="x{{ y }}">Scan a barcode</p>
    <input type="submit" value="Save"><input type="hidden" name="next" value="/samples">
    <a title="Your account" href="{{ url }}">{{ name }}</a> · 4 °C <kbd>CMD:CLOSE</kbd> Biobank &nbsp;
    {% trans n=3 %}{{ n }} tubes left{% endtrans %}<img alt="{{ _('Label') }}" src="x.png">
    <input placeholder="e.g. S-0001">{# a comment #}"""
    assert unmarked(source, env) == ["Scan a barcode", 'value="Save"', 'title="Your account"',
                                     'placeholder="e.g. S-0001"']
