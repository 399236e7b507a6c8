"""A rebuild generation beside the change log id the search index reflects.

``registry.services.facet_index`` keeps facet bitsets per index version. A rebuild
after a bulk load (``communs seed``) writes no change log entry, so the change log id
alone would not tell another process that the index was rebuilt; ``generation`` is
incremented by every rebuild and read with the change log id.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-29T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "search index rebuild generation"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="registry", description=DESCRIPTION)

    async def run() -> None:
        from registry.db import current_engine

        await current_engine().run_ddl(
            'ALTER TABLE "search_index_state" ADD COLUMN "generation" BIGINT NOT NULL DEFAULT 0'
        )

    manager.add_raw(run)
    return manager
