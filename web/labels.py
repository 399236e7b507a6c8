"""Human labels of codes (facets, publisher kinds, statuses, relations), translated.

Plain functions rather than template macros: a results page calls them hundreds of
times, and a Jinja macro call costs ten times a function call.
"""

from __future__ import annotations

from typing import Any

from web.i18n import N_, country_name, format_number, gettext, ngettext

FACET_NAMES = {
    "license": N_("License"),
    "language": N_("Programming language"),
    "publisher": N_("Publisher"),
    "kind": N_("Kind of publisher"),
    "country": N_("Country"),
    "category": N_("Category"),
    "active_months": N_("Last activity"),
    "min_reused": N_("Reused"),
    "fr_authorised": N_("License authorised for French public bodies"),
    "publiccode_valid": N_("publiccode.yml"),
}
KINDS = {
    "municipality": N_("municipality"),
    "intermunicipality": N_("intermunicipality"),
    "department": N_("department"),
    "region": N_("region"),
    "state_agency": N_("state agency"),
    "ministry": N_("ministry"),
    "public_company": N_("public company"),
    "association": N_("association of public bodies"),
    "university": N_("university"),
    "hospital": N_("hospital"),
    "other": N_("other"),
}
STATUSES = {
    "evaluating": N_("evaluating"),
    "production": N_("in production"),
    "stopped": N_("stopped"),
    "withdrawn": N_("withdrawn"),
}
RUN_STATUSES = {
    "queued": N_("queued"),
    "running": N_("running"),
    "done": N_("done"),
    "failed": N_("failed"),
}
RELATIONS = {
    "child": N_("part of this family"),
    "parent": N_("family it belongs to"),
    "sibling": N_("in the same family"),
    "derived": N_("based on this project"),
    "based_on": N_("this project is based on it"),
}

SOURCES = {
    "forge": N_("the forge"),
    "file": N_("license file"),
    "publiccode": N_("publiccode.yml"),
    "header": N_("file headers"),
    "reuse": N_("REUSE LICENSES/ directory"),
    "manual": N_("set by hand"),
}


def source(value: str) -> str:
    return gettext(SOURCES[value]) if value in SOURCES else value


def facet_name(name: str) -> str:
    return gettext(FACET_NAMES[name]) if name in FACET_NAMES else name


def kind(value: str) -> str:
    return gettext(KINDS.get(value, KINDS["other"]))


def status(value: str) -> str:
    return gettext(STATUSES[value]) if value in STATUSES else value


def run_status(value: str) -> str:
    return gettext(RUN_STATUSES[value]) if value in RUN_STATUSES else value


def relation(value: str) -> str:
    return gettext(RELATIONS[value]) if value in RELATIONS else value


def facet_value(name: str, item: Any) -> str:
    """The label of one facet value (``item`` has ``value`` and ``label``)."""
    value = str(item.value)
    if name == "active_months":
        return gettext("in the last %(n)s months") % {"n": format_number(int(value))}
    if name == "min_reused":
        n = int(value)
        return ngettext(
            "reused by at least %(num)s public body",
            "reused by at least %(num)s public bodies",
            n,
        ) % {"num": format_number(n)}
    if name == "fr_authorised":
        return gettext("on the list of licenses authorised by the French State")
    if name == "publiccode_valid":
        return gettext("valid publiccode.yml")
    if name == "kind":
        return kind(value)
    if name == "country":
        return country_name(value)
    return str(item.label)


GLOBALS = {
    "facet_name": facet_name,
    "facet_value": facet_value,
    "kind_label": kind,
    "status_label": status,
    "relation_label": relation,
    "run_status_label": run_status,
    "source_label": source,
}
