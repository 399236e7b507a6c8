"""Piccolo's configuration module (``PICCOLO_CONF=registry.piccolo_conf``).

``DB`` starts as the engine of the current settings, so Piccolo's own command line
works; :func:`registry.db.use_database` replaces it, so one process (the test suite)
can switch between SQLite and PostgreSQL.
"""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

from registry.db import engine_for_url
from registry.settings import get_settings

APP_REGISTRY = AppRegistry(apps=["registry.piccolo_app"])

DB: Engine = engine_for_url(get_settings().effective_database_url)
