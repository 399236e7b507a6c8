"""Fixtures starting real Communs instances for the federation tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fedkit import Instance, drop_databases, make_instance, pg_available


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Callable[..., Instance]]:
    """``cluster("A")`` starts an instance (``engine="postgres"`` for a PostgreSQL one);
    every instance started is stopped, and its database dropped, after the test."""
    started: list[Instance] = []

    def start(name: str, engine: str = "sqlite") -> Instance:
        if engine == "postgres" and not pg_available():
            pytest.skip("PostgreSQL is not reachable")
        instance = make_instance(tmp_path, name, engine)
        started.append(instance)
        instance.start()
        return instance

    try:
        yield start
    finally:
        for instance in started:
            instance.stop()
            drop_databases(instance)
