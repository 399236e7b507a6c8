"""The forge-neutral data the fake forge serves: accounts, repositories, tags, releases.

An :class:`Account` is loaded from a fixture in the ``tests/data/real-forges`` format (one JSON
document per account) or generated synthetically. The same account is then rendered as a GitHub
organisation, a GitLab group and a Gitea/Forgejo organisation by the per-forge modules.

Synthetic accounts are cheap: their repositories are small objects whose files, tags and
releases are generated on first access, deterministically from the repository's index, so an
account of 10,000 repositories costs a few milliseconds to create.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fakeforge.licenses import LicenseMatch, detect_license, is_root_license_file

__all__ = [
    "Account",
    "Release",
    "Repository",
    "Tag",
    "World",
    "load_fixture",
    "synthetic_account",
]


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 timestamp with offset (``Z`` accepted) into an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def git_blob_sha(data: bytes) -> str:
    """The Git object id of a blob with this content (the same id the served Git repo has)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Tag:
    """A tag: ``date`` is the tagger date (annotated) or the commit date (lightweight)."""

    name: str
    date: datetime
    commit: str
    annotated: bool = False
    message: str | None = None


@dataclass
class Release:
    """A release attached to a tag (GitHub/GitLab/Gitea all model releases on tags)."""

    tag_name: str
    name: str
    published_at: datetime
    prerelease: bool = False
    draft: bool = False
    body: str = ""


@dataclass
class Repository:
    """One repository. ``files`` are the root files (and ``LICENSES/<x>``) of the default branch.

    Synthetic repositories pass ``generator``; their ``files``/``tags``/``releases`` are built
    on first access.
    """

    id: int
    name: str
    description: str | None
    default_branch: str
    fork: bool
    archived: bool
    pushed_at: datetime
    created_at: datetime
    head_commit: str
    language: str | None
    topics: list[str]
    _files: dict[str, str] | None = None
    _tags: list[Tag] | None = None
    _releases: list[Release] | None = None
    generator: Any = None
    account: Account | None = field(default=None, repr=False)
    _license: LicenseMatch | bool | None = field(default=False, repr=False)

    def _generate(self) -> None:
        files, tags, releases = self.generator(self)
        if self._files is None:
            self._files = files
        if self._tags is None:
            self._tags = tags
        if self._releases is None:
            self._releases = releases

    @property
    def files(self) -> dict[str, str]:
        if self._files is None:
            self._generate()
        return self._files or {}

    @property
    def tags(self) -> list[Tag]:
        """Tags, newest first (by date, then name), as the fixture format orders them."""
        if self._tags is None:
            self._generate()
        return self._tags or []

    @property
    def releases(self) -> list[Release]:
        if self._releases is None:
            if self.generator is None:
                self._releases = []
            else:
                self._generate()
        return self._releases or []

    @property
    def activity_at(self) -> datetime:
        """When GitLab (``last_activity_at``) and Gitea (``updated_at``) say the repository
        last changed: its last push, or a newer tag or release, since pushing a tag is
        activity too. Generated repositories' tags are never newer than their push."""
        if self.generator is not None and self._tags is None:
            return self.pushed_at
        dates = [t.date for t in self.tags] + [r.published_at for r in self.releases]
        return max([self.pushed_at, *dates])

    @property
    def owner_login(self) -> str:
        assert self.account is not None
        return self.account.login

    @property
    def full_name(self) -> str:
        return f"{self.owner_login}/{self.name}"

    @property
    def full_path(self) -> str:
        """GitLab ``path_with_namespace`` (the group may be nested)."""
        assert self.account is not None
        return f"{self.account.full_path}/{self.name}"

    def license_file(self) -> str | None:
        """The root license file GitHub/GitLab would pick (``LICENSE*``, ``COPYING*``...)."""
        names = sorted((n for n in self.files if is_root_license_file(n)), key=_license_rank)
        return names[0] if names else None

    @property
    def license(self) -> LicenseMatch | None:
        """The license detected in the root license file, or None when there is no such file."""
        if self._license is False:
            path = self.license_file()
            self._license = detect_license(self.files[path]) if path else None
        return self._license  # type: ignore[return-value]

    def spdx_licenses(self) -> list[str]:
        """SPDX ids of every license file (root and REUSE ``LICENSES/``), as Gitea lists them."""
        found: list[str] = []
        for path, text in sorted(self.files.items()):
            if is_root_license_file(path) or path.startswith("LICENSES/"):
                match = detect_license(text)
                spdx = match.spdx_id if match.spdx_id != "NOASSERTION" else None
                if spdx is None and path.startswith("LICENSES/"):
                    spdx = Path(path).stem.removeprefix("LICENSE.")
                if spdx and spdx not in found:
                    found.append(spdx)
        return found

    def has_ref(self, ref: str) -> bool:
        """Whether ``ref`` names a revision whose files the fake forge serves: ``HEAD``, the
        default branch, a tag, ``refs/heads/…``/``refs/tags/…``, the head commit or a tagged
        commit. Every such revision has the same files (those of the fixture)."""
        if ref.startswith("refs/heads/"):
            return ref.removeprefix("refs/heads/") == self.default_branch
        ref = ref.removeprefix("refs/tags/")
        if ref in ("HEAD", self.default_branch, self.head_commit) or self.tag(ref):
            return True
        if len(ref) < 7:
            return False
        commits = [self.head_commit, *(t.commit for t in self.tags)]
        return any(commit.startswith(ref) for commit in commits)

    def tag(self, name: str) -> Tag | None:
        for tag in self.tags:
            if tag.name == name:
                return tag
        return None


def _license_rank(name: str) -> tuple[int, str]:
    upper = name.upper()
    return (0 if upper.startswith("LICEN") else 1, name)


@dataclass
class Account:
    """An organisation (GitHub/Gitea) = a group (GitLab). ``parent`` nests it as a GitLab subgroup.

    ``login`` is the last path segment; ``full_path`` the GitLab group path (``a/b/c``).
    """

    id: int
    login: str
    name: str
    description: str
    type: str = "Organization"
    repositories: list[Repository] = field(default_factory=list)
    parent: Account | None = field(default=None, repr=False)
    children: list[Account] = field(default_factory=list, repr=False)
    created_at: datetime = field(default_factory=lambda: datetime(2010, 1, 1, tzinfo=UTC))
    _by_name: dict[str, Repository] = field(default_factory=dict, repr=False)

    @property
    def full_path(self) -> str:
        return f"{self.parent.full_path}/{self.login}" if self.parent else self.login

    @property
    def full_name(self) -> str:
        """GitLab ``full_name``: the display names joined with `` / ``."""
        return f"{self.parent.full_name} / {self.name}" if self.parent else self.name

    def add(self, repo: Repository) -> None:
        repo.account = self
        self.repositories.append(repo)
        self._by_name[repo.name.lower()] = repo

    def repo(self, name: str) -> Repository | None:
        return self._by_name.get(name.lower())

    def descendants(self) -> Iterable[Account]:
        for child in self.children:
            yield child
            yield from child.descendants()


class World:
    """Every account the fake forge serves, with global ids (GitLab addresses groups by id)."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}  # by lower-case full_path
        self.logins: dict[str, Account] = {}  # by lower-case login (GitHub/Gitea owner)
        self.repos_by_id: dict[int, Repository] = {}
        self.accounts_by_id: dict[int, Account] = {}
        #: (account full path, old name), lower-case -> id of the renamed repository
        self.renamed: dict[tuple[str, str], int] = {}
        self._next_account_id = 1000
        self._next_repo_id = 100000

    def new_repo_id(self) -> int:
        self._next_repo_id += 1
        return self._next_repo_id

    def ensure_account(self, full_path: str, **fields: Any) -> Account:
        """The account at ``full_path``, created (with any missing parent groups) if needed."""
        key = full_path.strip("/").lower()
        if key in self.accounts:
            account = self.accounts[key]
            for name, value in fields.items():
                setattr(account, name, value)
            return account
        parent_path, _, login = full_path.strip("/").rpartition("/")
        parent = self.ensure_account(parent_path) if parent_path else None
        self._next_account_id += 1
        defaults = {"name": login, "description": ""}
        defaults.update(fields)
        account = Account(id=self._next_account_id, login=login, parent=parent, **defaults)
        if parent is not None:
            parent.children.append(account)
        self.accounts[key] = account
        self.accounts_by_id[account.id] = account
        self.logins.setdefault(login.lower(), account)
        return account

    def add_repo(self, account: Account, repo: Repository) -> None:
        account.add(repo)
        self.repos_by_id[repo.id] = repo

    def rename_repo(self, repo: Repository, new_name: str) -> None:
        """Rename ``repo`` in its account, keeping its id; the old name is remembered so the
        forges can redirect it (:meth:`moved`). Generated content is built first, since a
        synthetic repository derives it from its original name."""
        assert repo.account is not None
        _ = (repo.files, repo.tags, repo.releases)
        account = repo.account
        old_key = (account.full_path.lower(), repo.name.lower())
        account._by_name.pop(repo.name.lower(), None)
        repo.name = new_name
        account._by_name[new_name.lower()] = repo
        self.renamed[old_key] = repo.id
        self.renamed.pop((account.full_path.lower(), new_name.lower()), None)

    def delete_repo(self, repo: Repository) -> None:
        """Remove ``repo``: every forge answers 404 for it from now on, also by its id."""
        assert repo.account is not None
        account = repo.account
        account.repositories.remove(repo)
        account._by_name.pop(repo.name.lower(), None)
        self.repos_by_id.pop(repo.id, None)
        self.renamed = {k: v for k, v in self.renamed.items() if v != repo.id}

    def moved(self, owner: str, name: str) -> Repository | None:
        """The repository that was called ``owner/name`` before a rename, if any."""
        account = self.account(owner)
        if account is None:
            return None
        repo_id = self.renamed.get((account.full_path.lower(), name.lower()))
        return self.repos_by_id.get(repo_id) if repo_id is not None else None

    def account(self, login_or_path: str) -> Account | None:
        key = login_or_path.strip("/").lower()
        return self.accounts.get(key) or self.logins.get(key)

    def repo(self, owner: str, name: str) -> Repository | None:
        account = self.account(owner)
        return account.repo(name) if account else None

    def repo_by_path(self, path: str) -> Repository | None:
        owner, _, name = path.strip("/").rpartition("/")
        account = self.accounts.get(owner.lower())
        return account.repo(name) if account else None


_KINDS = re.compile(r"annotated=(\d+), lightweight=(\d+)")


def load_fixture(
    world: World, source: str | Path | dict[str, Any], under: str | None = None
) -> Account:
    """Load one account in the real-forges format into ``world``.

    ``source`` is a path or an already-parsed document. ``under`` places the account at that
    group path (``parent/child``); by default it is a top-level account named by its login.
    A tag is annotated when its fixture entry says ``"annotated": true``; without the key, the
    majority kind from the repository's ``notes`` (``annotated=A, lightweight=L``) is used.
    Releases are read from an optional ``releases`` list (``tag_name``, ``name``,
    ``published_at``, ``prerelease``, ``draft``, ``body``).
    """
    doc = source if isinstance(source, dict) else json.loads(Path(source).read_text("utf-8"))
    meta = doc["account"]
    path = under or meta["login"]
    account = world.ensure_account(
        path,
        name=meta.get("name") or meta["login"],
        description=meta.get("description") or "",
        type=meta.get("type") or "Organization",
    )
    for raw in doc["repositories"]:
        kinds = _KINDS.search(raw.get("notes") or "")
        default_annotated = bool(kinds and int(kinds.group(1)) > int(kinds.group(2)))
        tags = [
            Tag(
                name=t["name"],
                date=parse_time(t["date"]),
                commit=t["commit"],
                annotated=t.get("annotated", default_annotated),
                message=t.get("message"),
            )
            for t in raw.get("tags", [])
        ]
        releases = [
            Release(
                tag_name=r["tag_name"],
                name=r.get("name") or r["tag_name"],
                published_at=parse_time(r["published_at"]),
                prerelease=bool(r.get("prerelease")),
                draft=bool(r.get("draft")),
                body=r.get("body") or "",
            )
            for r in raw.get("releases", [])
        ]
        repo = Repository(
            id=world.new_repo_id(),
            name=raw["name"],
            description=raw.get("description"),
            default_branch=raw.get("default_branch") or "main",
            fork=bool(raw.get("fork")),
            archived=bool(raw.get("archived")),
            pushed_at=parse_time(raw["pushed_at"]),
            created_at=parse_time(raw["created_at"]),
            head_commit=raw.get("head_commit") or hashlib.sha1(raw["name"].encode()).hexdigest(),
            language=raw.get("language"),
            topics=list(raw.get("topics") or []),
            _files=dict(raw.get("files") or {}),
            _tags=tags,
            _releases=releases,
        )
        world.add_repo(account, repo)
    return account


_MIT = """MIT License

Copyright (c) {year} {owner}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
"""

_EUPL = """EUROPEAN UNION PUBLIC LICENCE v. 1.2
EUPL © the European Union 2007, 2016

This European Union Public Licence (the 'EUPL') applies to the Work (as defined
below) which is provided under the terms of this Licence.
"""

_PUBLICCODE = """publiccodeYmlVersion: "0.4"
name: {name}
url: "https://example.org/{owner}/{name}.git"
releaseDate: "{date}"
softwareVersion: "{version}"
platforms:
  - web
categories:
  - it-development
developmentStatus: stable
softwareType: "standalone/web"
description:
  en:
    shortDescription: "Synthetic repository {index} of {owner}."
    longDescription: "A synthetic repository generated by the fake forge for benchmarks."
    features:
      - benchmarking
legal:
  license: {license}
maintenance:
  type: internal
  contacts:
    - name: Fake Forge
localisation:
  localisationReady: false
  availableLanguages:
    - en
"""


def _synthetic_content(repo: Repository) -> tuple[dict[str, str], list[Tag], list[Release]]:
    index = int(repo.name.rsplit("-", 1)[1])
    owner = repo.owner_login
    n_tags = index % 7  # 0..6 tags, some repositories with none
    base = repo.pushed_at
    tags: list[Tag] = []
    for k in range(n_tags):
        date = base - timedelta(days=30 * k, hours=k)
        version = f"v1.{n_tags - k}.0"
        commit = hashlib.sha1(f"{repo.full_name}@{version}".encode()).hexdigest()
        tags.append(Tag(name=version, date=date, commit=commit, annotated=k % 2 == 0))
    files: dict[str, str] = {}
    year = repo.created_at.year
    if index % 5 != 0:  # one in five has no license file
        files["LICENSE"] = (_EUPL if index % 2 else _MIT).format(year=year, owner=owner)
    if index % 3 == 0:
        files["publiccode.yml"] = _PUBLICCODE.format(
            name=repo.name,
            owner=owner,
            index=index,
            date=base.date().isoformat(),
            version=tags[0].name if tags else "0.1.0",
            license="EUPL-1.2" if index % 2 else "MIT",
        )
    releases = [
        Release(tag_name=t.name, name=t.name, published_at=t.date, prerelease=False)
        for t in tags[:2]
    ]
    return files, tags, releases


def synthetic_account(world: World, owner_path: str, count: int) -> Account:
    """Create an account of ``count`` generated repositories named ``repo-00001``...

    Every fifth repository has no license file, every third has a ``publiccode.yml``, and the
    number of tags cycles through 0..6, all following from the repository's number
    (``repo-00003`` has 3 tags and a ``publiccode.yml``).
    """
    login = owner_path.rstrip("/").rpartition("/")[2]
    account = world.ensure_account(
        owner_path, name=f"Synthetic {login}", description=f"{count} synthetic repositories"
    )
    width = max(5, len(str(count)))
    epoch = datetime(2020, 1, 1, tzinfo=UTC)
    for i in range(1, count + 1):
        repo_id = world.new_repo_id()
        name = f"repo-{i:0{width}d}"
        repo = Repository(
            id=repo_id,
            name=name,
            description=f"Synthetic repository {i} of {login}.",
            default_branch="main",
            fork=False,
            archived=i % 50 == 0,
            pushed_at=epoch + timedelta(hours=i * 7),
            created_at=epoch - timedelta(days=i % 1000),
            head_commit=hashlib.sha1(f"{owner_path}/{name}".encode()).hexdigest(),
            language=("Python", "Java", "TypeScript", "Go", None)[i % 5],
            topics=["synthetic"] if i % 4 == 0 else [],
            generator=_synthetic_content,
        )
        world.add_repo(account, repo)
    return account
