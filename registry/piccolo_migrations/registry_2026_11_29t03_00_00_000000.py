"""The catalogue's search index: one row per project with the values that are searched,
filtered, faceted and sorted on, so that a search page is a handful of indexed queries.

* ``project_search``: single-valued facets, sort keys and the folded text document;
  on PostgreSQL a stored ``tsvector`` column generated from the document, with a GIN
  index; on SQLite an FTS5 table ``project_fts`` whose rowid is the project id.
* ``project_search_value``: multi-valued facets (categories, languages), one row each.
* ``search_index_state``: the change log id the index reflects; the service layer
  (``registry.services.search_index``) brings the index up to date from the change log.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "project search index: tsvector + GIN on PostgreSQL, FTS5 on SQLite"

COMMON = (
    """CREATE TABLE IF NOT EXISTS "project_search_value" (
        "project_id" INTEGER NOT NULL,
        "facet" VARCHAR(20) NOT NULL,
        "value" VARCHAR(200) NOT NULL,
        PRIMARY KEY ("project_id", "facet", "value")
    )""",
    """CREATE INDEX IF NOT EXISTS "project_search_value_facet"
        ON "project_search_value" ("facet", "value", "project_id")""",
    """CREATE TABLE IF NOT EXISTS "search_index_state" (
        "id" INTEGER PRIMARY KEY,
        "change_id" BIGINT NOT NULL DEFAULT 0
    )""",
    """INSERT INTO "search_index_state" ("id", "change_id") SELECT 1, 0
        WHERE NOT EXISTS (SELECT 1 FROM "search_index_state" WHERE "id" = 1)""",
)

_COLUMNS = """
        "project_id" INTEGER PRIMARY KEY,
        "slug" VARCHAR(300) NOT NULL,
        "name" VARCHAR(300) NOT NULL,
        "name_key" VARCHAR(300) NOT NULL,
        "publisher_id" INTEGER NULL,
        "publisher_name" VARCHAR(300) NOT NULL DEFAULT '',
        "publisher_kind" VARCHAR(40) NOT NULL DEFAULT '',
        "country" VARCHAR(2) NOT NULL DEFAULT '',
        "license" VARCHAR(300) NOT NULL DEFAULT '',
        "fr_authorised" BOOLEAN NOT NULL DEFAULT FALSE,
        "language" VARCHAR(100) NOT NULL DEFAULT '',
        "publiccode_valid" BOOLEAN NOT NULL DEFAULT FALSE,
        "activity_ts" BIGINT NOT NULL DEFAULT 0,
        "reused_by" INTEGER NOT NULL DEFAULT 0,
        "latest_stable" VARCHAR(100) NOT NULL DEFAULT '',
        "summary" TEXT NOT NULL DEFAULT '',
        "doc" TEXT NOT NULL DEFAULT ''"""

SQLITE = (
    f'CREATE TABLE IF NOT EXISTS "project_search" ({_COLUMNS}\n    )',
    """CREATE VIRTUAL TABLE IF NOT EXISTS "project_fts" USING fts5(
        doc, tokenize = 'unicode61 remove_diacritics 2')""",
)

POSTGRES = (
    f"""CREATE TABLE IF NOT EXISTS "project_search" ({_COLUMNS},
        "tsv" TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', "doc")) STORED
    )""",
    'CREATE INDEX IF NOT EXISTS "project_search_tsv" ON "project_search" USING GIN ("tsv")',
)

INDEXES = (
    # the project sheet's related projects (based-on, family)
    'CREATE INDEX IF NOT EXISTS "project_based_on_idx" ON "project" ("based_on")',
    'CREATE INDEX IF NOT EXISTS "project_parent_idx" ON "project" ("parent")',
    # releases of a repository, newest first
    """CREATE INDEX IF NOT EXISTS "release_repository_published"
        ON "release" ("repository", "published_at")""",
    """CREATE INDEX IF NOT EXISTS "project_search_name"
        ON "project_search" ("name_key", "project_id")""",
    """CREATE INDEX IF NOT EXISTS "project_search_activity"
        ON "project_search" ("activity_ts", "project_id")""",
    """CREATE INDEX IF NOT EXISTS "project_search_reused"
        ON "project_search" ("reused_by", "project_id")""",
    """CREATE INDEX IF NOT EXISTS "project_search_publisher"
        ON "project_search" ("publisher_id")""",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run() -> None:
        from registry.db import current_engine

        engine = current_engine()
        specific = SQLITE if engine.engine_type == "sqlite" else POSTGRES
        for ddl in (*specific, *COMMON, *INDEXES):
            await engine.run_ddl(ddl)

    manager.add_raw(run)
    return manager
