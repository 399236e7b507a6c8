"""Property-based run of the whole API against its own OpenAPI schema (``/schema``).

Schemathesis generates requests for every operation (a bounded number of cases each,
a few hundred in all), as an admin so that writes run too, and checks that no answer is
a server error and that every documented answer matches the schema.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from litestar.testing import AsyncTestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from api.app import create_app
from registry.settings import Settings
from tests.api.conftest import World

CASES_PER_OPERATION = 20


def _run(app: Any, token: str) -> tuple[int, list[str]]:
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    cases = 0
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith("/federation") or operation.path.startswith("/.well-known"):
            continue  # not this API's (the federation has its own tests)

        @hypothesis.settings(
            max_examples=CASES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.given(case=operation.as_strategy())
        def check(case: Any) -> None:
            nonlocal cases
            cases += 1
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            response = case.call()
            for check_function in (
                not_a_server_error,
                response_schema_conformance,
                content_type_conformance,
            ):
                try:
                    case.validate_response(response, checks=[check_function])
                except AssertionError as error:
                    failures.append(f"{case.method} {case.formatted_path}: {error}"[:800])
                    return

        check()
    return cases, failures


async def test_api_conforms_to_its_schema(
    client: AsyncTestClient[Any], world: World, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, allowed_hosts=("*",), secret_key="test-secret")
    app = create_app(settings, bind_database=False, rate_limit=None, run_registrations=False)
    cases, failures = await asyncio.to_thread(_run, app, world.tokens["admin"])
    assert cases >= 200
    assert not failures, "\n".join(failures[:10])
