"""Every marked message is translated in every catalogue we ship (English included: its
catalogue says the English text once more), with the same %(name)s placeholders."""
import io

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from .catalogue import LANGUAGES, TRANSLATIONS, extracted, problems, read_catalogue


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language):
    template = extracted()
    assert len(template) > 1, "the extraction found no messages"
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    assert path.exists(), f"no catalogue for {language} at {path}"
    found = problems(template, read_catalogue(path))
    assert not found, f"{language}: {len(found)} messages not translated properly:\n" + "\n".join(found)


def _po(text: str, locale="ru"):
    return read_po(io.BytesIO(text.encode()), locale=locale)


def _template(*messages):
    catalog = Catalog()
    for message in messages:
        catalog.add(*message) if isinstance(message, tuple) else catalog.add(message)
    buffer = io.BytesIO()
    write_po(buffer, catalog)
    return read_po(io.BytesIO(buffer.getvalue()))


def test_the_check_finds_each_kind_of_fault():
    """The check on a catalogue of its own: a missing, an empty, a fuzzy message, a lost
    placeholder, a plural with an empty form; a complete entry passes."""
    template = _template("Scan a barcode", "Log out", "Save", "Box %(name)s is full", "Done",
                         (("%(num)d tube", "%(num)d tubes"),))
    catalogue = _po('''
msgid ""
msgstr ""
"Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);\\n"

msgid "Log out"
msgstr ""

#, fuzzy
msgid "Save"
msgstr "Сохранить"

msgid "Box %(name)s is full"
msgstr "Коробка заполнена"

msgid "Done"
msgstr "Готово"

msgid "%(num)d tube"
msgid_plural "%(num)d tubes"
msgstr[0] "%(num)d пробирка"
msgstr[1] "%(num)d пробирки"
msgstr[2] ""
''')
    found = problems(template, catalogue)
    assert found == ["missing: 'Scan a barcode'", "untranslated: 'Log out'", "fuzzy: 'Save'",
                     "placeholders differ: 'Box %(name)s is full' needs ['name'], has [[]]",
                     "untranslated: '%(num)d tube'"]
