"""French and English: every message shown is translated, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from web import i18n

WEB = Path(__file__).resolve().parents[2] / "web"
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def shown_messages() -> list[str | tuple[str, ...]]:
    found = extract_from_dir(str(WEB), method_map=METHODS, options_map=OPTIONS, keywords=KEYWORDS)
    return [message for _file, _line, message, _comments, _context in found]


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)s", text))


def test_every_message_of_the_site_has_a_french_translation() -> None:
    french = i18n.catalogue("fr")
    messages = shown_messages()
    assert len(messages) > 150
    missing = []
    for message in messages:
        key = message[0] if isinstance(message, tuple) else message
        translated = french.get(key)
        if not translated:
            missing.append(key)
            continue
        for form in translated if isinstance(translated, tuple) else (translated,):
            assert placeholders(form) == placeholders(key), (key, form)
    assert not missing, missing


def test_language_negotiation() -> None:
    assert i18n.negotiate("fr-FR,fr;q=0.9,en;q=0.8") == "fr"
    assert i18n.negotiate("de-DE,en;q=0.5,fr;q=0.7") == "fr"
    assert i18n.negotiate("de-DE") == "en"
    assert i18n.negotiate(None) == "en"
    assert i18n.negotiate("fr", chosen="en") == "en"  # the switch wins over the header
    assert i18n.negotiate("en", chosen="xx") == "en"


def test_numbers_dates_and_plurals_follow_the_language() -> None:
    import datetime as dt

    day = dt.date(2026, 3, 1)
    with i18n.language("fr"):
        assert i18n.format_number(12345.5) == "12\u202f345,5"
        assert i18n.format_day(day) == "1 mars 2026"
        assert i18n.ngettext("%(num)s project", "%(num)s projects", 1) == "%(num)s projet"
        assert i18n.ngettext("%(num)s project", "%(num)s projects", 0) == "%(num)s projet"
        assert i18n.ngettext("%(num)s project", "%(num)s projects", 2) == "%(num)s projets"
        assert i18n.country_name("FR") == "France"
    with i18n.language("en"):
        assert i18n.format_number(12345.5) == "12,345.5"
        assert i18n.format_day(day) == "Mar 1, 2026"
        assert i18n.ngettext("%(num)s project", "%(num)s projects", 0) == "%(num)s projects"
        assert i18n.country_name("DE") == "Germany"
