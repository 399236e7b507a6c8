"""Federation: the ``federation_entity`` mapping table, and change log ids in commit
order on PostgreSQL.

The federation feed serves the change log by id and peers resume ``after`` the last id
they stored, so an id must never become visible after a larger one. SQLite gives that
for free (one writer at a time, immediate transactions). On PostgreSQL a sequence value
is taken at insert time but becomes visible at commit, so two concurrent writers could
commit out of order and a peer would skip a change for ever. The trigger below takes a
transaction-scoped advisory lock before assigning the id: writers of the change log
queue from their first change to their commit, and ids are visible in commit order.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T03:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "federation entity mapping; change log ids in commit order"

SQLITE = (
    """CREATE TABLE IF NOT EXISTS "federation_entity" (
        "id" INTEGER PRIMARY KEY AUTOINCREMENT,
        "origin" VARCHAR(500) NOT NULL,
        "entity" VARCHAR(40) NOT NULL,
        "origin_id" VARCHAR(100) NOT NULL,
        "local_id" INTEGER NULL,
        "owner" BOOLEAN NOT NULL DEFAULT 1,
        "last_seq" BIGINT NOT NULL DEFAULT 0,
        "deleted" BOOLEAN NOT NULL DEFAULT 0,
        "verified" BOOLEAN NOT NULL DEFAULT 1,
        "received_from" VARCHAR(500) NOT NULL DEFAULT ''
    )""",
)

POSTGRES = (
    """CREATE TABLE IF NOT EXISTS "federation_entity" (
        "id" SERIAL PRIMARY KEY,
        "origin" VARCHAR(500) NOT NULL,
        "entity" VARCHAR(40) NOT NULL,
        "origin_id" VARCHAR(100) NOT NULL,
        "local_id" INTEGER NULL,
        "owner" BOOLEAN NOT NULL DEFAULT TRUE,
        "last_seq" BIGINT NOT NULL DEFAULT 0,
        "deleted" BOOLEAN NOT NULL DEFAULT FALSE,
        "verified" BOOLEAN NOT NULL DEFAULT TRUE,
        "received_from" VARCHAR(500) NOT NULL DEFAULT ''
    )""",
    """CREATE OR REPLACE FUNCTION change_log_commit_order() RETURNS trigger AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(7380214551);
        NEW.id := nextval(pg_get_serial_sequence('change_log', 'id'));
        RETURN NEW;
    END; $$ LANGUAGE plpgsql""",
    """DROP TRIGGER IF EXISTS change_log_commit_order ON change_log""",
    """CREATE TRIGGER change_log_commit_order BEFORE INSERT ON change_log
    FOR EACH ROW EXECUTE FUNCTION change_log_commit_order()""",
)

INDEXES = (
    """CREATE UNIQUE INDEX IF NOT EXISTS "federation_entity_origin_entity_origin_id_key"
    ON "federation_entity" ("origin", "entity", "origin_id")""",
    """CREATE INDEX IF NOT EXISTS "federation_entity_entity_local_id"
    ON "federation_entity" ("entity", "local_id")""",
    """CREATE INDEX IF NOT EXISTS "change_log_origin_id"
    ON "change_log" ("origin", "id")""",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run() -> None:
        from registry.db import current_engine

        engine = current_engine()
        statements = SQLITE if engine.engine_type == "sqlite" else POSTGRES
        for ddl in (*statements, *INDEXES):
            await engine.run_ddl(ddl)

    manager.add_raw(run)
    return manager
