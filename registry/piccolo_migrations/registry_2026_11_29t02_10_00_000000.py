"""Constraints Piccolo cannot declare portably: multi-column unique indexes and the
append-only change log (triggers refuse UPDATE and DELETE), on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from registry.tables import UNIQUE_TOGETHER

ID = "2026-11-29T02:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique together indexes and append-only change log"

SQLITE_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS change_log_no_update BEFORE UPDATE ON change_log
    BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS change_log_no_delete BEFORE DELETE ON change_log
    BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END""",
)

POSTGRES_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION change_log_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'change_log is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER change_log_no_update BEFORE UPDATE OR DELETE ON change_log
    FOR EACH ROW EXECUTE FUNCTION change_log_append_only()""",
)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run() -> None:
        from registry.db import current_engine

        engine = current_engine()
        for table, columns in UNIQUE_TOGETHER:
            name = f"{table}_{'_'.join(columns)}_key"
            cols = ", ".join(f'"{c}"' for c in columns)
            await engine.run_ddl(
                f'CREATE UNIQUE INDEX IF NOT EXISTS "{name}" ON "{table}" ({cols})'
            )
        triggers = SQLITE_TRIGGERS if engine.engine_type == "sqlite" else POSTGRES_TRIGGERS
        for ddl in triggers:
            await engine.run_ddl(ddl)

    manager.add_raw(run)
    return manager
