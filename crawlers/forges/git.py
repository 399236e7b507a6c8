"""Plain Git repositories (no forge API) on the adapter interface.

A plain Git server has no account listing, so :meth:`GitAdapter.account_pages` refuses; a
repository is read by :class:`crawlers.git.GitReader` (``ls-remote``, then shallow filtered
fetches, in a worker thread) under the same address policy as the HTTP client
(``client.allow_loopback``). ``endpoint`` is the server's base URL (``https://git.example.org``,
``git://...``, ``ssh://...``); a repository ``path`` is appended, with ``.git``.

What the result holds: tags with their dates and peeled commits, the default branch, the head
commit, ``pushed_at`` = the head commit's committer date, the metadata files. No description,
language, topics, fork or archived flag: Git has none of them. ``forge_license`` is ``None``:
the license comes from the files. A read that hit a size or time limit after ``ls-remote``
still returns what it has, and its problems are added to :attr:`failures`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from crawlers.forges.base import ForgeAdapter, RepoData, TagData
from crawlers.git import GitCost, GitLimits, GitReader
from crawlers.http import ForgeClient
from registry.errors import ValidationError

__all__ = ["GitAdapter"]


class GitAdapter(ForgeAdapter):
    kind = "git"

    def __init__(
        self, client: ForgeClient, endpoint: str, *, limits: GitLimits | None = None
    ) -> None:
        super().__init__(client, endpoint)
        self.reader = GitReader(
            client.settings, limits=limits, allow_loopback=client.allow_loopback
        )
        #: what each repository read cost, in order
        self.costs: list[GitCost] = []

    async def account_pages(self, owner: str) -> AsyncIterator[list[RepoData]]:
        raise ValidationError(
            f"{self.endpoint}: a plain Git server lists no accounts; crawl its repository URLs"
        )
        yield []  # pragma: no cover - makes this an async generator

    async def repository(self, path: str) -> RepoData:
        path = path.strip("/")
        bare = path.removesuffix(".git")
        info = await asyncio.to_thread(self.reader.inspect, f"{self.endpoint}/{bare}.git")
        self.costs.append(info.cost)
        for problem in info.problems:
            self.failures.append((bare, problem))
        return RepoData(
            forge_kind="git",
            forge_id=info.url,
            web_url=f"{self.endpoint}/{bare}",
            path=bare,
            name=bare.rsplit("/", 1)[-1],
            default_branch=info.default_branch or "",
            pushed_at=info.last_commit_at,
            head_commit=info.head_commit or "",
            tags=[TagData(t.tag, t.date, t.commit or "") for t in info.tags],
            forge_license=None,
            files={p: c.decode("utf-8", errors="replace") for p, c in info.files.items()},
        )
