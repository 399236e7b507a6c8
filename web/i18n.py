"""Languages of the web site: gettext catalogues, negotiation, localised formats.

Messages are written in English in the templates and code; ``web/locale/<lang>/
LC_MESSAGES/messages.po`` holds the translations, read with Babel at first use (no
compiled ``.mo`` to keep in step). The language of a request is, in order: the
visitor's choice (a cookie set by the language switch), then ``Accept-Language``, then
English. The language in force is kept in a context variable for the duration of a
request, so templates, macros and filters all see the same one.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES = Path(__file__).parent / "locale"
#: Languages offered, the first being the default.
LANGUAGES: tuple[str, ...] = ("en", "fr")
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
COOKIE = "communs_lang"

_current: ContextVar[str] = ContextVar("communs_language", default="en")


@functools.cache
def catalogue(lang: str) -> dict[str, str | tuple[str, ...]]:
    """msgid -> translation for ``lang`` (empty for English, the source language)."""
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        parsed = read_po(handle, locale=lang)
    out: dict[str, str | tuple[str, ...]] = {}
    for message in parsed:
        if not message.id or not message.string or message.fuzzy:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        out[key] = tuple(message.string) if isinstance(message.string, tuple) else message.string
    return out


@functools.cache
def locale(lang: str) -> Locale:
    """Babel's locale object for ``lang``, parsed once."""
    return Locale.parse(lang)


def current_language() -> str:
    return _current.get()


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Make ``lang`` the language of everything rendered inside the block."""
    token = _current.set(lang if lang in LANGUAGES else LANGUAGES[0])
    try:
        yield
    finally:
        _current.reset(token)


def use_language(lang: str) -> None:
    """Set the language for the rest of the current task (one request)."""
    _current.set(lang if lang in LANGUAGES else LANGUAGES[0])


def gettext(message: str) -> str:
    translated = catalogue(current_language()).get(message)
    return translated if isinstance(translated, str) and translated else message


def ngettext(singular: str, plural: str, n: int) -> str:
    lang = current_language()
    forms = catalogue(lang).get(singular)
    if isinstance(forms, tuple) and len(forms) >= 2 and forms[0] and forms[1]:
        # two forms are enough for the languages offered: CLDR "one", and the rest
        return forms[0] if locale(lang).plural_form(n) == "one" else forms[1]
    return singular if n == 1 else plural


def negotiate(accept_language: str | None, chosen: str | None = None) -> str:
    """The language to answer in: a valid explicit choice, else the best of the header."""
    if chosen in LANGUAGES:
        return chosen  # type: ignore[return-value]
    best, best_q = LANGUAGES[0], 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower().split("-")[0]
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if code in LANGUAGES and quality > best_q:
            best, best_q = code, quality
    return best


def format_number(value: float | int | None) -> str:
    """A number written the way the current language writes it (``12 345,5``)."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return _format_int(current_language(), value)
    return format_decimal(value, locale=locale(current_language()))


@functools.lru_cache(maxsize=8192)
def _format_int(lang: str, value: int) -> str:
    # Babel's formatting is slow; a results page writes the same small counts many times
    return format_decimal(value, locale=locale(lang))


def format_day(value: dt.date | dt.datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return _format_day(current_language(), value, style)


@functools.lru_cache(maxsize=8192)
def _format_day(lang: str, value: dt.date, style: str) -> str:
    # a results page writes twenty dates, many of them the same days
    return format_date(value, format=style, locale=locale(lang))


def format_month(value: str) -> str:
    """A ``YYYY-MM`` month as the current language writes it (``Mar 2026``,
    ``mars 2026``); anything else unchanged."""
    try:
        day = dt.date.fromisoformat(f"{value}-01")
    except ValueError:
        return value
    return format_skeleton("yMMM", day, locale=locale(current_language()))


def format_moment(value: dt.datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return format_datetime(value, format=style, tzinfo=dt.UTC, locale=locale(current_language()))


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


def country_name(code: str | None) -> str:
    """The name of an ISO 3166 country code in the current language (the code if unknown)."""
    if not code:
        return ""
    return locale(current_language()).territories.get(code.upper(), code)
