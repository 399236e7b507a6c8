"""A small license recogniser standing in for GitHub's/GitLab's ``licensee``.

It is a keyword heuristic over the first few kilobytes of a license file: each known license
is identified by phrases from its canonical text. A file that matches none is reported the way
GitHub reports unrecognised license files: key ``other``, SPDX id ``NOASSERTION``. It does not
measure text similarity, so a license text wrapped in extra clauses (Edifice's AGPL wrapper) is
still recognised as the wrapped license, where GitHub might say ``NOASSERTION``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LICENSES", "LicenseMatch", "detect_license", "is_root_license_file"]


@dataclass(frozen=True)
class LicenseMatch:
    """A recognised license: GitHub's key/name/spdx_id, GitLab's nickname and URLs."""

    key: str
    name: str
    spdx_id: str
    nickname: str | None = None
    source_url: str | None = None

    @property
    def html_url(self) -> str:
        return f"http://choosealicense.com/licenses/{self.key}/"


LICENSES: dict[str, LicenseMatch] = {
    m.spdx_id: m
    for m in [
        LicenseMatch("mit", "MIT License", "MIT", None, "https://opensource.org/licenses/MIT"),
        LicenseMatch(
            "bsd-3-clause",
            'BSD 3-Clause "New" or "Revised" License',
            "BSD-3-Clause",
            None,
            "https://opensource.org/licenses/BSD-3-Clause",
        ),
        LicenseMatch(
            "bsd-2-clause",
            'BSD 2-Clause "Simplified" License',
            "BSD-2-Clause",
            None,
            "https://opensource.org/licenses/BSD-2-Clause",
        ),
        LicenseMatch(
            "agpl-3.0",
            "GNU Affero General Public License v3.0",
            "AGPL-3.0",
            "GNU AGPLv3",
            "https://www.gnu.org/licenses/agpl-3.0.txt",
        ),
        LicenseMatch(
            "gpl-3.0",
            "GNU General Public License v3.0",
            "GPL-3.0",
            "GNU GPLv3",
            "https://www.gnu.org/licenses/gpl-3.0.txt",
        ),
        LicenseMatch(
            "gpl-2.0",
            "GNU General Public License v2.0",
            "GPL-2.0",
            "GNU GPLv2",
            "https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt",
        ),
        LicenseMatch(
            "lgpl-3.0",
            "GNU Lesser General Public License v3.0",
            "LGPL-3.0",
            "GNU LGPLv3",
            "http://www.gnu.org/licenses/lgpl-3.0.txt",
        ),
        LicenseMatch(
            "lgpl-2.1",
            "GNU Lesser General Public License v2.1",
            "LGPL-2.1",
            "GNU LGPLv2.1",
            "https://www.gnu.org/licenses/old-licenses/lgpl-2.1.txt",
        ),
        LicenseMatch(
            "apache-2.0",
            "Apache License 2.0",
            "Apache-2.0",
            None,
            "https://www.apache.org/licenses/LICENSE-2.0.txt",
        ),
        LicenseMatch(
            "eupl-1.2",
            "European Union Public License 1.2",
            "EUPL-1.2",
            None,
            "https://joinup.ec.europa.eu/collection/eupl/eupl-text-eupl-12",
        ),
        LicenseMatch(
            "epl-2.0",
            "Eclipse Public License 2.0",
            "EPL-2.0",
            None,
            "https://www.eclipse.org/legal/epl-2.0/",
        ),
        LicenseMatch(
            "mpl-2.0",
            "Mozilla Public License 2.0",
            "MPL-2.0",
            None,
            "https://www.mozilla.org/media/MPL/2.0/index.txt",
        ),
        LicenseMatch(
            "cc-by-4.0",
            "Creative Commons Attribution 4.0 International",
            "CC-BY-4.0",
            None,
            "https://creativecommons.org/licenses/by/4.0/legalcode",
        ),
        LicenseMatch(
            "cc-by-sa-4.0",
            "Creative Commons Attribution Share Alike 4.0 International",
            "CC-BY-SA-4.0",
            None,
            "https://creativecommons.org/licenses/by-sa/4.0/legalcode",
        ),
        LicenseMatch(
            "unlicense",
            "The Unlicense",
            "Unlicense",
            None,
            "https://unlicense.org/",
        ),
    ]
}

OTHER = LicenseMatch("other", "Other", "NOASSERTION")

# (spdx id, phrases that must all occur), tried in order: the more specific first.
_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("AGPL-3.0", ("gnu affero general public license",)),
    ("LGPL-3.0", ("gnu lesser general public license", "version 3")),
    ("LGPL-2.1", ("gnu lesser general public license", "version 2.1")),
    ("GPL-3.0", ("gnu general public license", "version 3")),
    ("GPL-2.0", ("gnu general public license", "version 2")),
    ("Apache-2.0", ("apache license", "version 2.0")),
    ("EUPL-1.2", ("european union public licen", "1.2")),
    ("EPL-2.0", ("eclipse public license", "2.0")),
    ("MPL-2.0", ("mozilla public license", "2.0")),
    ("CC-BY-SA-4.0", ("attribution-sharealike 4.0 international",)),
    ("CC-BY-4.0", ("attribution 4.0 international",)),
    ("MIT", ("permission is hereby granted, free of charge",)),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "neither the name")),
    ("BSD-2-Clause", ("redistribution and use in source and binary forms",)),
    ("Unlicense", ("this is free and unencumbered software released into the public domain",)),
]

_ROOT_LICENSE = re.compile(r"^(licen[cs]e|copying|unlicense)([-._].*)?$", re.IGNORECASE)


def is_root_license_file(path: str) -> bool:
    """Whether ``path`` is a root license file as the forges look for them (any case)."""
    return "/" not in path and bool(_ROOT_LICENSE.match(path))


def detect_license(text: str) -> LicenseMatch:
    """The license whose phrases all occur in ``text`` (whitespace-normalised), else ``OTHER``."""
    head = " ".join(text[:20000].lower().split())
    for spdx_id, phrases in _RULES:
        if all(p in head for p in phrases):
            return LICENSES[spdx_id]
    return OTHER
