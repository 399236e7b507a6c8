"""What every forge adapter returns, and the interface they share.

An adapter knows one forge's API and nothing of the catalogue: it lists an account's
repositories page by page, each page complete (metadata, tags with dates, releases, the
license the forge reports, ``publiccode.yml`` and license file texts), and fetches one
repository the same way. :mod:`crawlers.ingest` turns these plain results into catalogue
rows; :mod:`crawlers.crawl` owns the loop, the transactions and the run record.

URLs: ``endpoint`` is where the forge is reached (``https://api.github.com`` is derived
from ``https://github.com``; the fake forge's ``http://127.0.0.1:PORT/github``); the
adapter reports each repository's web URL as the forge gives it, and the crawl maps it
back to the account's identity (``https://github.com/...``) when the two differ.
"""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from crawlers.http import ForgeClient
from registry.errors import ForgeError, ValidationError

__all__ = [
    "PUBLICCODE_NAMES",
    "WHOLE_FORGE_LIMIT",
    "ForgeAdapter",
    "ReleaseData",
    "RepoData",
    "TagData",
    "is_license_path",
    "parse_time",
]

#: publiccode.yml file names looked for at the root, in order of preference
PUBLICCODE_NAMES = ("publiccode.yml", "publiccode.yaml")
#: Largest file text kept (license files and publiccode.yml are far smaller)
MAX_FILE_BYTES = 1024 * 1024
#: Concurrent per-repository requests an adapter makes within one page
DETAIL_CONCURRENCY = 32
#: Most repositories a whole-forge account (a self-hosted instance, no owner) may list; a
#: larger instance is refused (crawl its groups or organisations as accounts instead)
WHOLE_FORGE_LIMIT = 20_000

_ROOT_LICENSE = re.compile(r"^(?:un)?(?:licen[cs]e|copying)(?:[-._].*)?$", re.I)
_CODE = re.compile(r"\.(?:py|js|ts|go|rb|java|c|h|rs|json|ya?ml|xml|toml|php|sh|lock)$", re.I)

T = TypeVar("T")
R = TypeVar("R")
#: ``(forge id, web URL, activity date as listed)`` of listed repositories -> the forge ids
#: the catalogue already holds as they are
Current = Callable[[list[tuple[str, str, str | None]]], Awaitable[set[str]]]


def is_license_path(path: str) -> bool:
    """Root ``LICENSE``/``LICENCE``/``COPYING`` files (any case and suffix, not source
    code) and the files of a REUSE ``LICENSES/`` directory."""
    if path.startswith("LICENSES/"):
        return "/" not in path[len("LICENSES/") :]
    return "/" not in path and bool(_ROOT_LICENSE.match(path)) and not _CODE.search(path)


def parse_time(value: str | None) -> dt.datetime | None:
    """An aware datetime from a forge's ISO 8601 string (``Z`` or an offset), or None."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class TagData:
    """A tag: its name, date (tagger date when annotated, else commit date) and commit."""

    name: str
    date: dt.datetime | None = None
    commit: str = ""


@dataclass(frozen=True, slots=True)
class ReleaseData:
    """A forge release (GitHub/GitLab/Gitea releases), attached to a tag."""

    tag: str
    name: str = ""
    published_at: dt.datetime | None = None
    prerelease: bool = False
    draft: bool = False


@dataclass(slots=True)
class RepoData:
    """One repository as a forge reports it, complete enough to ingest.

    ``web_url`` is the URL the forge gives; ``path`` its full path (``owner/name``, or
    ``group/sub/name`` on GitLab). ``forge_license`` is the forge's own claim: an SPDX id
    or name as reported (``""`` when the forge reports a license it cannot name, ``None``
    when it reports none or does not report licenses at all). ``files`` holds the texts of
    the root license files, REUSE ``LICENSES/`` files and ``publiccode.yml``.
    """

    forge_kind: str
    forge_id: str
    web_url: str
    path: str
    name: str
    description: str = ""
    homepage: str = ""
    default_branch: str = ""
    language: str = ""
    topics: list[str] = field(default_factory=list)
    is_fork: bool = False
    is_archived: bool = False
    pushed_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    head_commit: str = ""
    tags: list[TagData] = field(default_factory=list)
    releases: list[ReleaseData] = field(default_factory=list)
    forge_license: str | None = None
    files: dict[str, str] = field(default_factory=dict)

    @property
    def publiccode_path(self) -> str | None:
        return next((n for n in PUBLICCODE_NAMES if n in self.files), None)


class ForgeAdapter(abc.ABC):
    """One forge kind. Subclasses implement :meth:`account_pages` and :meth:`repository`.

    ``failures`` collects ``(path, reason)`` for repositories listed but not fetched
    completely; they are left out of the pages (the crawl records them as failed, and
    does not mark them gone).
    """

    kind: str = ""
    #: whether :meth:`account_pages` lists a whole instance when given no owner
    whole_forge: bool = False

    def __init__(self, client: ForgeClient, endpoint: str) -> None:
        self.client = client
        #: most repositories a whole-forge listing may hold before the crawl is refused
        self.whole_forge_limit = WHOLE_FORGE_LIMIT
        self.endpoint = endpoint.rstrip("/")
        self.failures: list[tuple[str, str]] = []
        #: set by the crawl (incremental recrawls): which listed repositories the catalogue
        #: already holds complete with the same activity date; their details are not asked
        self.current: Current | None = None
        #: web URLs of listed repositories left out of a page because they are current
        self.skipped: list[str] = []

    @abc.abstractmethod
    def account_pages(self, owner: str) -> AsyncIterator[list[RepoData]]:
        """Yield the account's repositories, one complete page at a time.

        Raises :class:`~registry.errors.NotFoundError` when the account does not exist.
        An empty ``owner`` lists every public repository of the instance, for adapters
        whose :attr:`whole_forge` is true.
        """

    def count_whole_forge(self, listed_so_far: int) -> None:
        """Refuse a whole-forge listing grown past :attr:`whole_forge_limit` (checked
        before a page's details are asked, so an oversized instance costs listing pages
        only; the pages already saved stay, and nothing is marked gone)."""
        if listed_so_far > self.whole_forge_limit:
            raise ValidationError(
                f"{self.endpoint}: the whole forge lists more than {self.whole_forge_limit} "
                "repositories; crawl its groups or organisations as accounts instead"
            )

    @abc.abstractmethod
    async def repository(self, path: str) -> RepoData:
        """One repository by its full path; :class:`NotFoundError` when it does not exist."""

    async def fresh(
        self,
        listed: list[dict[str, Any]],
        key: Callable[[dict[str, Any]], tuple[str, str, str | None]],
    ) -> list[dict[str, Any]]:
        """The listed items whose details must be asked: those :attr:`current` does not
        vouch for (all of them without it); the others' web URLs go to :attr:`skipped`."""
        if self.current is None or not listed:
            return listed
        keys = [key(item) for item in listed]
        current = await self.current(keys)
        kept: list[dict[str, Any]] = []
        for item, (forge_id, web_url, _when) in zip(listed, keys, strict=True):
            if forge_id in current:
                self.skipped.append(web_url)
            else:
                kept.append(item)
        return kept

    async def gather_limited(
        self, items: Iterable[T], work: Callable[[T], Awaitable[R]], label: Callable[[T], str]
    ) -> list[R]:
        """Run ``work`` on every item, a few at a time; an item whose work fails with a
        forge error is left out and recorded in :attr:`failures`."""
        semaphore = asyncio.Semaphore(DETAIL_CONCURRENCY)

        async def one(item: T) -> R | None:
            async with semaphore:
                try:
                    return await work(item)
                except ForgeError as error:
                    self.failures.append((label(item), error.message))
                    return None

        results = await asyncio.gather(*(one(item) for item in items))
        return [r for r in results if r is not None]
