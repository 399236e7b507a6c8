"""``communs``: serve the registry, run its workers, import and check data.

Every command maps Communs' domain errors to one line on stderr and exit code 1;
usage errors exit with 2 (click's convention).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from registry.errors import CommunsError
from registry.settings import Settings, get_settings

T = TypeVar("T")


def fail_cleanly(func: Callable[..., T]) -> Callable[..., T]:
    """Turn a :class:`CommunsError` into a one-line message and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except CommunsError as error:
            click.echo(f"error: {error.message}", err=True)
            sys.exit(1)

    return wrapper


def run_with_db(settings: Settings, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` with the catalogue bound to the settings' database, migrated."""
    from registry import db

    async def main() -> T:
        db.use_database(settings.effective_database_url)
        try:
            await db.migrate()
            return await work()
        finally:
            await db.close()

    return asyncio.run(main())


def current_settings(data_dir: Path | None = None) -> Settings:
    settings = get_settings()
    if data_dir is not None:
        settings = dataclasses.replace(settings, data_dir=data_dir)
    for name in settings.unknown:
        click.echo(f"warning: unknown setting {name} is ignored", err=True)
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="communs")
def main() -> None:
    """Communs: a federated registry of reusable public-sector software."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Overrides COMMUNS_DATA_DIR.")
@fail_cleanly
def serve(host: str, port: int, data_dir: Path | None) -> None:
    """Apply pending migrations and serve the API and the web site."""
    import uvicorn

    from api.app import create_app

    settings = current_settings(data_dir)
    settings.ensure_data_dir()
    run_with_db(settings, _noop)
    click.echo(
        f"Communs on http://{host}:{port}/ (database: {settings.effective_database_url}, "
        f"tasks: {'in-process' if settings.tasks_in_process else settings.broker_url})",
        err=True,
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)


async def _noop() -> None:
    return None


@main.command()
@click.option("--data-dir", type=click.Path(path_type=Path), help="Overrides COMMUNS_DATA_DIR.")
@fail_cleanly
def migrate(data_dir: Path | None) -> None:
    """Apply the database migrations that have not run yet."""
    from registry import db

    settings = current_settings(data_dir)

    async def work() -> list[str]:
        db.use_database(settings.effective_database_url)
        try:
            return await db.migrate()
        finally:
            await db.close()

    applied = asyncio.run(work())
    click.echo(
        f"{len(applied)} migration(s) applied" + (f": {', '.join(applied)}" if applied else "")
    )


def _celery_or_fail() -> Any:
    settings = current_settings()
    if settings.tasks_in_process:
        raise click.UsageError(
            "COMMUNS_BROKER_URL is not set: without a broker, tasks run inside `communs serve`"
        )
    from crawlers.tasks import app

    return app


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker (extra arguments go to Celery)."""
    _celery_or_fail().worker_main(["worker", "--loglevel=INFO", *celery_args])


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def beat(celery_args: tuple[str, ...]) -> None:
    """Run the Celery beat scheduler of recrawls and federation pulls."""
    _celery_or_fail().start(["beat", "--loglevel=INFO", *celery_args])


@main.group()
def publishers() -> None:
    """Publishers and their forge accounts."""


@publishers.command("import")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--data-dir", type=click.Path(path_type=Path), help="Overrides COMMUNS_DATA_DIR.")
@fail_cleanly
def publishers_import(file: Path | None, data_dir: Path | None) -> None:
    """Import a publisher list (code.gouv.fr's comptes-organismes-publics.yml format).

    Without FILE, imports the French public-sector list shipped with Communs. The file
    is checked whole first; a malformed file imports nothing.
    """
    from registry.services.publishers import default_list_path, import_account_list

    path = file or default_list_path()
    settings = current_settings(data_dir)
    report = run_with_db(settings, lambda: import_account_list(path))
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"{path}: {report.accounts_seen} accounts on {report.forges_seen} forges; "
        f"publishers {report.publishers_created} created, {report.publishers_updated} updated; "
        f"accounts {report.accounts_created} created, {report.accounts_updated} updated"
    )


@main.command()
@click.argument("username")
@click.option("--email", default="")
@click.option("--role", type=click.Choice(["admin", "community_manager", ""]), default="")
@click.option("--member-of", "member_of", multiple=True, help="Publisher slug (repeatable).")
@click.option("--maintainer-of", "maintainer_of", multiple=True, help="Publisher slug.")
@click.password_option(prompt="Password", help="Prompted for when not given.")
@fail_cleanly
def createuser(
    username: str,
    email: str,
    role: str,
    member_of: tuple[str, ...],
    maintainer_of: tuple[str, ...],
    password: str,
) -> None:
    """Create a user, optionally with a site role and publisher memberships."""
    from registry import db
    from registry.errors import NotFoundError
    from registry.services import accounts
    from registry.tables import Publisher

    async def work() -> int:
        roles: list[tuple[int, str]] = []
        for slugs, member_role in ((member_of, "member"), (maintainer_of, "maintainer")):
            for slug in slugs:
                row = await Publisher.select(Publisher.id).where(Publisher.slug == slug).first()
                if row is None:
                    raise NotFoundError(f"no publisher with slug {slug!r}; nothing was created")
                roles.append((int(row["id"]), member_role))
        async with db.transaction():
            user_id = await accounts.create_user(
                username, password=password, email=email, role=role
            )
            for publisher_id, member_role in roles:
                await accounts.add_membership(user_id, publisher_id, member_role)
        return user_id

    user_id = run_with_db(current_settings(), work)
    click.echo(f"user {username!r} created (id {user_id})")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="", help="A label to recognise the token by.")
@click.option("--days", type=int, default=None, help="Expire after this many days.")
@fail_cleanly
def token_create(username: str, name: str, days: int | None) -> None:
    """Create an API token for USERNAME and print it (it is shown only once)."""
    from registry.services import accounts

    async def work() -> accounts.NewToken:
        user = await accounts.user_by_username(username)
        return await accounts.create_token(int(user["id"]), name, days=days)

    new = run_with_db(current_settings(), work)
    click.echo(new.token)


@main.group()
def publiccode() -> None:
    """publiccode.yml tools."""


@publiccode.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results.")
@click.option("--network", is_flag=True, help="Also check that URLs answer (off by default).")
def publiccode_validate(file: Path, as_json: bool, network: bool) -> None:
    """Validate a publiccode.yml; exit 0 when it has no error, 1 when it has one."""
    from registry.publiccode import validate_command

    sys.exit(validate_command(str(file), as_json=as_json, network=network))


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


from communs.federation_cli import peers  # noqa: E402

main.add_command(peers)

from communs.api_cli import seed  # noqa: E402

main.add_command(seed)


from communs.crawl_cli import check, crawl  # noqa: E402

main.add_command(crawl)
main.add_command(check)
