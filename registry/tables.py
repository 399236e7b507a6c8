"""The catalogue's tables (Piccolo ORM).

The same tables and migrations run on SQLite (the embedded default) and PostgreSQL
(production). Rules that must hold whatever code writes the data are constraints in
the database: unique canonical repository URLs, one current reuse declaration per
(publisher, project), foreign keys whose ``ON DELETE`` never silently drops a reuse
declaration, and an append-only change log (triggers refuse updates and deletes).

Multi-column uniqueness is declared in :data:`UNIQUE_TOGETHER` and created as unique
indexes by a hand-written migration: Piccolo's ``Unique`` constraint is added with
``ALTER TABLE ... ADD CONSTRAINT``, which SQLite does not support, while a unique index
means the same on both engines.

Naming: ``*_at`` columns are UTC timestamps; ``origin`` is the URL of the Communs
instance an entry came from ("" for entries this instance originated).
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

PUBLISHER_KINDS = (
    "municipality",
    "intermunicipality",
    "department",
    "region",
    "state_agency",
    "ministry",
    "public_company",
    "association",
    "university",
    "hospital",
    "other",
)
FORGE_KINDS = ("github", "gitlab", "gitea", "gogs", "bitbucket", "sourcehut", "git")
DECLARATION_STATUSES = ("evaluating", "production", "stopped", "withdrawn")
MEMBER_ROLES = ("member", "maintainer")
USER_ROLES = ("", "admin", "community_manager")
CRAWL_STATUSES = ("queued", "running", "done", "failed")
LICENSE_SOURCES = ("forge", "file", "publiccode", "header", "manual")


class Publisher(Table, tablename="publisher"):
    """A public body that publishes or reuses software."""

    id = Serial(primary_key=True)
    slug = Varchar(length=200, unique=True, null=False)
    name = Varchar(length=300, null=False)
    kind = Varchar(length=40, default="other")
    country = Varchar(length=2, default="")
    website = Varchar(length=500, default="")
    ospo_url = Varchar(length=500, default="")
    floss_policy_url = Varchar(length=500, default="")
    description = Text(default="")
    origin = Varchar(length=500, default="", index=True)
    origin_id = Varchar(length=100, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class PublisherIdentifier(Table, tablename="publisher_identifier"):
    """An official identifier of a publisher: ``scheme`` is e.g. ``pso_id`` or ``siren``."""

    id = Serial(primary_key=True)
    publisher = ForeignKey(Publisher, on_delete=OnDelete.cascade, null=False, index=True)
    scheme = Varchar(length=40, null=False)
    value = Varchar(length=200, null=False)


class ForgeAccount(Table, tablename="forge_account"):
    """An account, organisation or group on a forge that a publisher publishes under.

    ``owner`` is empty when the whole forge belongs to the publisher (a self-hosted
    GitLab of a city). ``crawl_state`` keeps what an incremental crawl needs (ETags,
    the last seen activity) and is written in the same transaction as the data.
    """

    id = Serial(primary_key=True)
    publisher = ForeignKey(Publisher, on_delete=OnDelete.cascade, null=False, index=True)
    forge_kind = Varchar(length=20, null=False)
    base_url = Varchar(length=500, null=False)
    owner = Varchar(length=300, default="")
    include_subgroups = Boolean(default=True)
    ignored_since = Date(null=True, default=None)
    crawl_interval_hours = Integer(null=True, default=None)
    last_crawled_at = Timestamptz(null=True, default=None)
    crawl_state = JSON(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())


class Project(Table, tablename="project"):
    """The software as people name it: one or several repositories."""

    id = Serial(primary_key=True)
    slug = Varchar(length=300, unique=True, null=False)
    name = Varchar(length=300, null=False)
    #: {"en": "...", "fr": "..."}: descriptions per language
    description = JSON(default="{}")
    publisher = ForeignKey(Publisher, on_delete=OnDelete.restrict, null=True, index=True)
    based_on = ForeignKey("self", on_delete=OnDelete.set_null, null=True)
    parent = ForeignKey("self", on_delete=OnDelete.set_null, null=True)
    landing_url = Varchar(length=500, default="")
    categories = JSON(default="[]")
    platforms = JSON(default="[]")
    topics = JSON(default="[]")
    development_status = Varchar(length=40, default="")
    license_expression = Varchar(length=300, default="")
    latest_stable = Varchar(length=100, default="")
    latest_published = Varchar(length=100, default="")
    last_activity_at = Timestamptz(null=True, default=None)
    origin = Varchar(length=500, default="", index=True)
    origin_id = Varchar(length=100, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Repository(Table, tablename="repository"):
    """One repository, whatever spelling it was reached by (``url`` is canonical).

    A repository the forge no longer lists gets ``gone_at``; it is never deleted, since
    reuse declarations and history point at it.
    """

    id = Serial(primary_key=True)
    url = Varchar(length=500, unique=True, null=False)
    forge_account = ForeignKey(ForgeAccount, on_delete=OnDelete.set_null, null=True, index=True)
    project = ForeignKey(Project, on_delete=OnDelete.set_null, null=True, index=True)
    forge_kind = Varchar(length=20, default="git")
    forge_id = Varchar(length=100, default="")
    name = Varchar(length=300, default="")
    full_name = Varchar(length=500, default="")
    description = Text(default="")
    homepage = Varchar(length=500, default="")
    default_branch = Varchar(length=200, default="")
    language = Varchar(length=100, default="")
    topics = JSON(default="[]")
    is_fork = Boolean(default=False)
    is_archived = Boolean(default=False)
    pushed_at = Timestamptz(null=True, default=None)
    forge_created_at = Timestamptz(null=True, default=None)
    head_commit = Varchar(length=64, default="")
    publiccode_text = Text(default="")
    #: None: no publiccode.yml; True/False: valid or not
    publiccode_valid = Boolean(null=True, default=None)
    publiccode_results = JSON(default="[]")
    first_seen_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    gone_at = Timestamptz(null=True, default=None)


class Release(Table, tablename="release"):
    """A version of a repository, from a tag or a forge release.

    ``tag`` is the original name and is never lost; ``version`` is derived from it
    (empty when the tag is not a version).
    """

    id = Serial(primary_key=True)
    repository = ForeignKey(Repository, on_delete=OnDelete.cascade, null=False, index=True)
    tag = Varchar(length=300, null=False)
    version = Varchar(length=200, default="")
    is_prerelease = Boolean(default=False)
    name = Varchar(length=300, default="")
    published_at = Timestamptz(null=True, default=None)
    commit = Varchar(length=64, default="")
    source = Varchar(length=20, default="tag")


class LicenseFinding(Table, tablename="license_finding"):
    """One source's opinion of a repository's license; disagreements stay visible."""

    id = Serial(primary_key=True)
    repository = ForeignKey(Repository, on_delete=OnDelete.cascade, null=False, index=True)
    expression = Varchar(length=300, default="")
    source = Varchar(length=20, null=False)
    file = Varchar(length=300, default="")
    confidence = Float(default=1.0)


class User(Table, tablename="communs_user"):
    """A person who signs in. ``role`` is a site-wide role; publisher roles are memberships."""

    id = Serial(primary_key=True)
    username = Varchar(length=150, unique=True, null=False)
    email = Varchar(length=300, default="")
    display_name = Varchar(length=300, default="")
    password_hash = Varchar(length=300, default="", secret=True)
    role = Varchar(length=40, default="")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Membership(Table, tablename="membership"):
    """A user's role at a publisher: ``member`` may declare reuse, ``maintainer`` registers."""

    id = Serial(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    publisher = ForeignKey(Publisher, on_delete=OnDelete.cascade, null=False, index=True)
    role = Varchar(length=40, default="member")


class ApiToken(Table, tablename="api_token"):
    """A bearer token. Only its SHA-256 is stored; ``prefix`` lets people recognise it."""

    id = Serial(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    name = Varchar(length=200, default="")
    prefix = Varchar(length=16, null=False)
    token_hash = Varchar(length=64, unique=True, null=False, secret=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class ReuseDeclaration(Table, tablename="reuse_declaration"):
    """Publisher X uses project Y. One current declaration per (publisher, project).

    Withdrawing is a status, never a deletion; each change is kept in
    :class:`ReuseDeclarationHistory`. Deleting a publisher or a project that has
    declarations is refused by the database (``ON DELETE RESTRICT``).
    """

    id = Serial(primary_key=True)
    publisher = ForeignKey(Publisher, on_delete=OnDelete.restrict, null=False, index=True)
    project = ForeignKey(Project, on_delete=OnDelete.restrict, null=False, index=True)
    version = Varchar(length=200, default="")
    since = Date(null=True, default=None)
    status = Varchar(length=20, default="production")
    service_url = Varchar(length=500, default="")
    contact = Varchar(length=300, default="")
    comment = Text(default="")
    declared_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True)
    origin = Varchar(length=500, default="", index=True)
    origin_id = Varchar(length=100, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ReuseDeclarationHistory(Table, tablename="reuse_declaration_history"):
    """Every past state of a declaration, newest last."""

    id = Serial(primary_key=True)
    declaration = ForeignKey(ReuseDeclaration, on_delete=OnDelete.restrict, null=False, index=True)
    snapshot = JSON(default="{}")
    changed_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True)
    changed_at = Timestamptz(default=TimestamptzNow())


class CrawlRun(Table, tablename="crawl_run"):
    """What a crawl was asked, what it cost and what it changed or failed at."""

    id = Serial(primary_key=True)
    target = Varchar(length=500, null=False)
    kind = Varchar(length=20, default="account")
    publisher = ForeignKey(Publisher, on_delete=OnDelete.set_null, null=True)
    forge_account = ForeignKey(ForgeAccount, on_delete=OnDelete.set_null, null=True)
    status = Varchar(length=20, default="queued", index=True)
    requested_by = ForeignKey(User, on_delete=OnDelete.set_null, null=True)
    queued_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    requests = Integer(default=0)
    added = Integer(default=0)
    changed = Integer(default=0)
    gone = Integer(default=0)
    failed = Integer(default=0)
    #: [{"repository": url, "reason": "..."}]
    failures = JSON(default="[]")
    error = Text(default="")
    #: the project a registration produced, when there is one
    project = ForeignKey(Project, on_delete=OnDelete.set_null, null=True)


class CrawlLock(Table, tablename="crawl_lock"):
    """Who is crawling a forge account right now: never two crawls of one account at once.

    ``owner`` is ``host:pid`` of the crawling process; a lock whose heartbeat is older
    than the stale limit, or whose process on this host is gone, may be taken over.
    """

    id = Serial(primary_key=True)
    forge_account = ForeignKey(ForgeAccount, on_delete=OnDelete.cascade, null=False, unique=True)
    owner = Varchar(length=200, null=False)
    acquired_at = Timestamptz(default=TimestamptzNow())
    heartbeat_at = Timestamptz(default=TimestamptzNow())


class Peer(Table, tablename="peer"):
    """Another Communs instance whose feed this one pulls."""

    id = Serial(primary_key=True)
    url = Varchar(length=500, unique=True, null=False)
    name = Varchar(length=300, default="")
    public_key = Varchar(length=200, null=False)
    fingerprint = Varchar(length=100, default="")
    cursor = Varchar(length=100, default="")
    trusted = Boolean(default=True)
    last_pull_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class ChangeLog(Table, tablename="change_log"):
    """Append-only record of every change to the catalogue (database triggers refuse
    updates and deletes). ``id`` is the commit order; the federation feed reads it."""

    id = Serial(primary_key=True)
    at = Timestamptz(default=TimestamptzNow())
    entity = Varchar(length=40, null=False)
    entity_id = Integer(null=False)
    action = Varchar(length=20, null=False)
    origin = Varchar(length=500, default="")
    actor = Varchar(length=200, default="")
    data = JSON(default="{}")


#: (table, columns): created as ``UNIQUE INDEX <table>_<cols>_key`` by the migrations
UNIQUE_TOGETHER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("publisher_identifier", ("scheme", "value")),
    ("forge_account", ("base_url", "owner")),
    ("release", ("repository", "tag")),
    ("license_finding", ("repository", "source", "file")),
    ("membership", ("user", "publisher")),
    ("reuse_declaration", ("publisher", "project")),
)

TABLES: tuple[type[Table], ...] = (
    Publisher,
    PublisherIdentifier,
    ForgeAccount,
    Project,
    Repository,
    Release,
    LicenseFinding,
    User,
    Membership,
    ApiToken,
    ReuseDeclaration,
    ReuseDeclarationHistory,
    CrawlRun,
    CrawlLock,
    Peer,
    ChangeLog,
)
