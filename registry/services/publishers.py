"""Publishers and their forge accounts: importing lists, looking them up.

The import reads the format of code.gouv.fr's ``comptes-organismes-publics.yml`` as it
is: top-level keys are forge host names with ``forge`` (the software) and either
``owners`` (accounts or groups, each with ``pso_id`` and optional ``floss_policy``,
``ospo_url``, ``ignored_since``) or, for a forge entirely run by one public body,
those keys on the forge itself. A publisher is one ``pso_id``; each owner (or each
whole forge) is one forge account.

The whole file is checked before anything is written, and written in one
transaction: a malformed file imports nothing and the error names the file, the line
and the problem. Importing the same file twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from registry import db
from registry.errors import ImportFileError
from registry.services import changelog
from registry.tables import FORGE_KINDS, ForgeAccount, Publisher, PublisherIdentifier

#: The French public-sector accounts list shipped as the default seed list.
DEFAULT_LIST = "fr-comptes-organismes-publics.yml"
MAX_FILE_BYTES = 5 * 1024 * 1024
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", re.I)
_OWNER = re.compile(r"^[\w.-]+(/[\w.-]+)*$")
_URL = re.compile(r"^https?://[^\s/]+\S*$")


def default_list_path() -> Path:
    return Path(str(resources.files("registry") / "data" / DEFAULT_LIST))


@dataclass(frozen=True)
class AccountEntry:
    """One forge account of the list, checked, with the line it was read from."""

    host: str
    forge_kind: str
    owner: str
    pso_id: str
    floss_policy: str
    ospo_url: str
    ignored_since: dt.date | None
    line: int

    @property
    def base_url(self) -> str:
        return f"https://{self.host}"


@dataclass
class ImportReport:
    publishers_created: int = 0
    publishers_updated: int = 0
    accounts_created: int = 0
    accounts_updated: int = 0
    accounts_seen: int = 0
    forges_seen: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.publishers_created,
                self.publishers_updated,
                self.accounts_created,
                self.accounts_updated,
            )
        )


# Reading and checking -----------------------------------------------------------------


class _Problem(Exception):
    def __init__(self, node: yaml.Node | None, message: str) -> None:
        super().__init__(message)
        self.line = node.start_mark.line + 1 if node is not None else 0
        self.message = message


def _mapping(node: yaml.Node, what: str) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise _Problem(node, f"{what} must be a mapping")
    pairs: list[tuple[yaml.ScalarNode, yaml.Node]] = []
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise _Problem(key, f"{what}: keys must be plain names")
        pairs.append((key, value))
    return pairs


def _scalar(node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _Problem(node, f"{what} must be a single value")
    return str(node.value).strip()


def _fields(
    node: yaml.Node, what: str, allowed: set[str], warnings: list[str], file: str
) -> dict[str, tuple[yaml.ScalarNode, yaml.Node]]:
    """A mapping's fields by name; a repeated key is a warning (the last one wins, as
    YAML loaders do), an unknown key an error."""
    out: dict[str, tuple[yaml.ScalarNode, yaml.Node]] = {}
    for key, value in _mapping(node, what):
        name = key.value
        if name not in allowed:
            raise _Problem(key, f"{what}: unknown key {name!r} (expected one of {sorted(allowed)})")
        if name in out:
            warnings.append(
                f"{file}:{key.start_mark.line + 1}: {what}: {name!r} given twice; "
                f"the value of line {key.start_mark.line + 1} is kept"
            )
        out[name] = (key, value)
    return out


#: The list uses an all-zero id as a placeholder for "not in the directory".
PLACEHOLDER_PSO_ID = "00000000-0000-0000-0000-000000000000"


def _entry_details(
    fields: dict[str, tuple[yaml.ScalarNode, yaml.Node]],
    what: str,
    warnings: list[str],
    where: str,
    inherited_pso: str = "",
) -> tuple[str, str, str, dt.date | None]:
    """pso_id, floss_policy, ospo_url, ignored_since of one entry.

    The real list has owners with no ``pso_id`` or the all-zero placeholder: they are
    imported as publishers of their own without an identifier, with a warning, since
    refusing them would refuse the list as the government publishes it.
    """
    pso_id = _scalar(fields["pso_id"][1], f"{what}: pso_id") if "pso_id" in fields else ""
    pso_id = pso_id or inherited_pso
    if pso_id == PLACEHOLDER_PSO_ID:
        warnings.append(f"{where}: {what}: placeholder pso_id; imported without an identifier")
        pso_id = ""
    elif not pso_id:
        warnings.append(f"{where}: {what}: no pso_id; imported without an identifier")
    urls = {}
    for name in ("floss_policy", "ospo_url"):
        value = _scalar(fields[name][1], f"{what}: {name}") if name in fields else ""
        if value and not _URL.match(value):
            raise _Problem(fields[name][1], f"{what}: {name} is not an http(s) URL: {value!r}")
        urls[name] = value
    ignored: dt.date | None = None
    if "ignored_since" in fields:
        raw = _scalar(fields["ignored_since"][1], f"{what}: ignored_since")
        try:
            ignored = dt.date.fromisoformat(raw)
        except ValueError:
            raise _Problem(
                fields["ignored_since"][1],
                f"{what}: ignored_since is not a date (YYYY-MM-DD): {raw!r}",
            ) from None
    return pso_id, urls["floss_policy"], urls["ospo_url"], ignored


def read_account_list(path: Path) -> tuple[list[AccountEntry], list[str]]:
    """Read and check a publisher list; raise :class:`ImportFileError` naming the file,
    line and problem. Returns the accounts and the warnings."""
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ImportFileError(f"{file}: cannot be read: {error.strerror or error}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ImportFileError(f"{file}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ImportFileError(f"{file}: not UTF-8 text (byte {error.start})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise ImportFileError(f"{file}{line}: not valid YAML: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise ImportFileError(f"{file}: not valid YAML: {error}") from None
    if root is None:
        raise ImportFileError(f"{file}: the file is empty")

    warnings: list[str] = []
    entries: list[AccountEntry] = []
    seen: dict[tuple[str, str], int] = {}
    try:
        for host_node, forge_node in _mapping(root, "the top level"):
            host = host_node.value.strip().lower()
            if not _HOST.match(host):
                raise _Problem(host_node, f"{host!r} is not a forge host name")
            fields = _fields(
                forge_node,
                host,
                {"forge", "owners", "pso_id", "ignored_since", "floss_policy", "ospo_url"},
                warnings,
                file,
            )
            if "forge" not in fields:
                raise _Problem(host_node, f"{host}: 'forge' is missing")
            kind = _scalar(fields["forge"][1], f"{host}: forge").lower()
            if kind not in FORGE_KINDS:
                raise _Problem(
                    fields["forge"][1],
                    f"{host}: unknown forge {kind!r} (expected one of {', '.join(FORGE_KINDS)})",
                )
            owners_node = fields.get("owners", (None, None))[1]
            owner_items = (
                _mapping(owners_node, f"{host}: owners")
                if owners_node is not None and not _is_null(owners_node)
                else []
            )
            if not owner_items:
                pso, policy, ospo, ignored = _entry_details(
                    fields, host, warnings, f"{file}:{host_node.start_mark.line + 1}"
                )
                items = [("", host_node, pso, policy, ospo, ignored)]
            else:
                forge_pso = (
                    _scalar(fields["pso_id"][1], f"{host}: pso_id") if "pso_id" in fields else ""
                )
                items = []
                for owner_node, owner_value in owner_items:
                    owner = owner_node.value.strip().strip("/")
                    what = f"{host}/{owner}"
                    if not _OWNER.match(owner):
                        raise _Problem(owner_node, f"{what}: not an account or group name")
                    owner_fields = (
                        {}
                        if _is_null(owner_value)
                        else _fields(
                            owner_value,
                            what,
                            {"pso_id", "floss_policy", "ospo_url", "ignored_since"},
                            warnings,
                            file,
                        )
                    )
                    pso, policy, ospo, ignored = _entry_details(
                        owner_fields,
                        what,
                        warnings,
                        f"{file}:{owner_node.start_mark.line + 1}",
                        forge_pso,
                    )
                    items.append((owner, owner_node, pso, policy, ospo, ignored))
            for owner, node, pso, policy, ospo, ignored in items:
                key = (host, owner.lower() if kind in {"github", "gitlab"} else owner)
                if key in seen:
                    raise _Problem(
                        node, f"{host}/{owner}: listed twice (first on line {seen[key]})"
                    )
                seen[key] = node.start_mark.line + 1
                entries.append(
                    AccountEntry(
                        host=host,
                        forge_kind=kind,
                        owner=owner,
                        pso_id=pso,
                        floss_policy=policy,
                        ospo_url=ospo,
                        ignored_since=ignored,
                        line=node.start_mark.line + 1,
                    )
                )
    except _Problem as problem:
        raise ImportFileError(f"{file}:{problem.line}: {problem.message}") from None
    return entries, warnings


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


# Writing ---------------------------------------------------------------------------------


def _publisher_slug(entry: AccountEntry) -> str:
    """Stable slug: from the pso_id, or from the account for publishers without one."""
    if entry.pso_id:
        return f"pso-{entry.pso_id.lower()}"
    name = f"{entry.host}-{entry.owner}" if entry.owner else entry.host
    return "acct-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


async def import_account_list(path: Path, *, actor: str = "import") -> ImportReport:
    """Import a publisher list (see the module docstring) in one transaction."""
    entries, warnings = read_account_list(path)
    report = ImportReport(warnings=warnings)
    report.accounts_seen = len(entries)
    report.forges_seen = len({e.host for e in entries})
    async with db.transaction():
        publisher_ids: dict[str, int] = {}
        for entry in entries:
            key = _publisher_slug(entry)
            if key not in publisher_ids:
                publisher_ids[key] = await _upsert_publisher(entry, report, actor)
            else:
                await _complete_publisher(publisher_ids[key], entry, report, actor)
            await _upsert_account(publisher_ids[key], entry, report, actor)
    return report


async def _upsert_publisher(entry: AccountEntry, report: ImportReport, actor: str) -> int:
    if entry.pso_id:
        row = (
            await PublisherIdentifier.select(PublisherIdentifier.publisher)
            .where(
                (PublisherIdentifier.scheme == "pso_id")
                & (PublisherIdentifier.value == entry.pso_id)
            )
            .first()
        )
        existing = int(row["publisher"]) if row else None
    else:
        row = (
            await Publisher.select(Publisher.id)
            .where(Publisher.slug == _publisher_slug(entry))
            .first()
        )
        existing = int(row["id"]) if row else None
    if existing is not None:
        publisher_id = existing
        await _complete_publisher(publisher_id, entry, report, actor)
        return publisher_id
    name = f"{entry.host}/{entry.owner}" if entry.owner else entry.host
    values: dict[str, Any] = {
        "slug": _publisher_slug(entry),
        "name": name,
        "kind": "other",
        "country": "FR",
        "floss_policy_url": entry.floss_policy,
        "ospo_url": entry.ospo_url,
    }
    created = await Publisher.insert(Publisher(**values)).returning(Publisher.id)
    publisher_id = int(created[0]["id"])
    identifiers = {"pso_id": entry.pso_id} if entry.pso_id else {}
    for scheme, value in identifiers.items():
        await PublisherIdentifier.insert(
            PublisherIdentifier(publisher=publisher_id, scheme=scheme, value=value)
        )
    await changelog.record(
        "publisher", publisher_id, "create", {**values, "identifiers": identifiers}, actor=actor
    )
    report.publishers_created += 1
    return publisher_id


async def _complete_publisher(
    publisher_id: int, entry: AccountEntry, report: ImportReport, actor: str
) -> None:
    """Fill in policy URLs a publisher does not have yet; never overwrite an edit."""
    current = (
        await Publisher.select(Publisher.floss_policy_url, Publisher.ospo_url)
        .where(Publisher.id == publisher_id)
        .first()
    )
    assert current is not None
    changes: dict[str, Any] = {}
    if entry.floss_policy and not current["floss_policy_url"]:
        changes["floss_policy_url"] = entry.floss_policy
    if entry.ospo_url and not current["ospo_url"]:
        changes["ospo_url"] = entry.ospo_url
    if changes:
        await Publisher.update(
            {**changes, "updated_at": dt.datetime.now(dt.UTC)}  # type: ignore[dict-item]
        ).where(Publisher.id == publisher_id)
        await changelog.record("publisher", publisher_id, "update", changes, actor=actor)
        report.publishers_updated += 1


async def _upsert_account(
    publisher_id: int, entry: AccountEntry, report: ImportReport, actor: str
) -> None:
    row = (
        await ForgeAccount.select()
        .where((ForgeAccount.base_url == entry.base_url) & (ForgeAccount.owner == entry.owner))
        .first()
    )
    values: dict[str, Any] = {
        "publisher": publisher_id,
        "forge_kind": entry.forge_kind,
        "base_url": entry.base_url,
        "owner": entry.owner,
        "ignored_since": entry.ignored_since,
    }
    if row is None:
        created = await ForgeAccount.insert(ForgeAccount(**values)).returning(ForgeAccount.id)
        await changelog.record(
            "forge_account", int(created[0]["id"]), "create", values, actor=actor
        )
        report.accounts_created += 1
        return
    changes = {k: v for k, v in values.items() if row[k] != v}
    if changes:
        await ForgeAccount.update(changes).where(ForgeAccount.id == row["id"])  # type: ignore[arg-type]
        await changelog.record("forge_account", int(row["id"]), "update", changes, actor=actor)
        report.accounts_updated += 1


async def delete_publisher(publisher_id: int, *, actor: str = "") -> None:
    """Delete a publisher. Refused (by the database) while reuse declarations or
    projects point at it: those are never deleted silently."""
    from registry.errors import ConflictError, NotFoundError
    from registry.tables import Project, ReuseDeclaration

    if not await Publisher.exists().where(Publisher.id == publisher_id):
        raise NotFoundError(f"publisher {publisher_id} does not exist")
    declarations = await ReuseDeclaration.count().where(ReuseDeclaration.publisher == publisher_id)
    projects = await Project.count().where(Project.publisher == publisher_id)
    if declarations or projects:
        raise ConflictError(
            f"publisher {publisher_id} has {declarations} reuse declaration(s) and "
            f"{projects} project(s); withdraw or move them first"
        )
    async with db.transaction():
        await Publisher.delete().where(Publisher.id == publisher_id)
        await changelog.record("publisher", publisher_id, "delete", {}, actor=actor)
