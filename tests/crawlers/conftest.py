"""Crawler test fixtures (helpers are in ``crawlkit``)."""

from __future__ import annotations

from typing import Any

import pytest
from crawlkit import FIXTURES

import fakeforge


@pytest.fixture(scope="module")
def forge_app() -> Any:
    """One fake forge with every real fixture, shared by a module's tests (read-only)."""
    app = fakeforge.create_app(FIXTURES)
    yield app
    app.git.cleanup()
