"""The messages the code marks for translation (a fresh pybabel extraction, as `make
translations-extract` does it) and what a catalogue lacks of them."""
import functools
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "biobank" / "translations"
LANGUAGES = ("uz", "ru", "ko", "en")
KEYWORDS = ("_l", "lazy_gettext", "N_")        # the Makefile's extra -k keywords
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def extract_to(pot: Path) -> None:
    command = [sys.executable, "-m", "babel.messages.frontend", "--quiet", "extract", "-F", "babel.cfg",
               *[arg for k in KEYWORDS for arg in ("-k", k)], "-o", str(pot), "."]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)


@functools.lru_cache(maxsize=1)
def extracted():
    """The template of every marked message, extracted now from the source."""
    with tempfile.TemporaryDirectory() as folder:
        pot = Path(folder) / "messages.pot"
        extract_to(pot)
        with pot.open("rb") as handle:
            return read_po(handle)


def read_catalogue(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text or ""))


def problems(template, catalogue) -> list[str]:
    """Every message of the template the catalogue does not translate properly: missing, empty
    (any plural form), fuzzy, or with other %(name)s placeholders than the English."""
    found = []
    for message in template:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
        wanted = placeholders(key) | (placeholders(message.id[1]) if message.pluralizable else set())
        entry = catalogue.get(message.id, message.context)
        if entry is None:
            found.append(f"missing: {key!r}")
            continue
        forms = list(entry.string) if isinstance(entry.string, (list, tuple)) else [entry.string]
        if entry.fuzzy:
            found.append(f"fuzzy: {key!r}")
        elif not forms or any(not form for form in forms):
            found.append(f"untranslated: {key!r}")
        elif any(placeholders(form) != wanted for form in forms):
            found.append(f"placeholders differ: {key!r} needs {sorted(wanted)}, has "
                         f"{[sorted(placeholders(f)) for f in forms]}")
    return found


def english_phrases() -> list[str]:
    """The English texts of two or more words, without placeholders: what a page in another
    language should not show."""
    texts = []
    for message in extracted():
        for text in (message.id if isinstance(message.id, (list, tuple)) else [message.id]):
            if text and not PLACEHOLDER.search(text) and "%" not in text and len(text.split()) >= 2:
                texts.append(text)
    return sorted(set(texts), key=len, reverse=True)
