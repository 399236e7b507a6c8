"""Reading a local Git repository (working copy or bare) the way a crawler reads a forge.

Used by ``communs check PATH``: GitPython gives the tags with their dates and the license and
``publiccode.yml`` files, as a :class:`~crawlers.forges.base.RepoData`, so that the check and
the crawl apply exactly the same rules. Nothing here runs hooks or touches a remote.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import git

from crawlers.forges.base import (
    MAX_FILE_BYTES,
    PUBLICCODE_NAMES,
    RepoData,
    TagData,
    is_license_path,
)
from registry.errors import ValidationError

__all__ = ["NotARepositoryError", "read_local_repository"]


class NotARepositoryError(ValidationError):
    """The path is not a Git working copy nor a bare repository."""


def _tag_date(tag: git.TagReference) -> tuple[dt.datetime | None, str]:
    try:
        commit = tag.commit
    except (ValueError, git.BadName):
        return None, ""
    if tag.tag is not None:
        tagged = tag.tag
        when = dt.datetime.fromtimestamp(tagged.tagged_date, dt.UTC)
        return when, commit.hexsha
    return commit.committed_datetime.astimezone(dt.UTC), commit.hexsha


def read_local_repository(path: Path) -> RepoData:
    """The repository at ``path``: tags, license files and ``publiccode.yml``.

    In a working copy the files are read from the working tree (what the maintainer is
    about to commit); in a bare repository from ``HEAD``. Raises
    :class:`NotARepositoryError` when ``path`` is not a Git repository.
    """
    try:
        repo = git.Repo(path, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise NotARepositoryError(f"{path}: not a Git working copy or bare repository") from None
    try:
        files: dict[str, str] = {}
        if not repo.bare and repo.working_tree_dir:
            root = Path(repo.working_tree_dir)
            candidates = [p for p in root.iterdir() if p.is_file()]
            if (root / "LICENSES").is_dir():
                candidates += [p for p in (root / "LICENSES").iterdir() if p.is_file()]
            for file in candidates:
                relative = file.relative_to(root).as_posix()
                wanted = relative in PUBLICCODE_NAMES or is_license_path(relative)
                if wanted and file.stat().st_size <= MAX_FILE_BYTES:
                    files[relative] = file.read_bytes().decode("utf-8", errors="replace")
        else:
            try:
                tree = repo.head.commit.tree
            except ValueError:
                tree = None
            if tree is not None:
                for blob in tree.traverse(
                    predicate=lambda item, depth: depth <= 1 and item.type == "blob"
                ):
                    relative = blob.path
                    if (relative in PUBLICCODE_NAMES or is_license_path(relative)) and (
                        blob.size <= MAX_FILE_BYTES
                    ):
                        files[relative] = blob.data_stream.read().decode("utf-8", errors="replace")
        tags = []
        for tag in repo.tags:
            date, commit = _tag_date(tag)
            tags.append(TagData(tag.name, date, commit))
        tags.sort(
            key=lambda t: (t.date or dt.datetime.min.replace(tzinfo=dt.UTC), t.name), reverse=True
        )
        name = Path(repo.working_tree_dir or repo.git_dir).name.removesuffix(".git")
        try:
            branch = repo.active_branch.name
        except (TypeError, ValueError):
            branch = ""
        return RepoData(
            forge_kind="git",
            forge_id="",
            web_url="",
            path=name,
            name=name,
            default_branch=branch,
            tags=tags,
            files=files,
        )
    finally:
        repo.close()
