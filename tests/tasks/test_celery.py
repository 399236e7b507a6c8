"""Celery for real: a worker thread on Redis runs the crawl tasks against the fake forge.

The logic is tested as plain functions elsewhere; this checks the wiring (task names,
serialisation, the database binding inside a worker, retries configured, the beat
schedule naming real tasks). Redis is found at COMMUNS_TEST_REDIS_URL (default
redis://127.0.0.1:6379/15); without it the test skips, unless
COMMUNS_TEST_REQUIRE_REDIS=1 (CI).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawlers.tasks import accounts_due, make_celery, run_with_database
from fakeforge.testing import serve
from registry.settings import Settings
from registry.tables import CrawlRun, ForgeAccount, Publisher, Release, Repository

REDIS_URL = os.environ.get("COMMUNS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
FIXTURE = Path(__file__).parents[1] / "data" / "real-forges" / "github__lutece-secteur-public.json"


def _redis_problem() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as error:  # any reason Redis is unusable is the skip reason
        return f"Redis unreachable at {REDIS_URL}: {error}"
    return None


@pytest.fixture
def redis_url() -> str:
    problem = _redis_problem()
    if problem:
        if os.environ.get("COMMUNS_TEST_REQUIRE_REDIS") == "1":
            pytest.fail(f"COMMUNS_TEST_REQUIRE_REDIS=1 but {problem}")
        pytest.skip(problem)
    return REDIS_URL


@pytest.fixture
def forge() -> Iterator[str]:
    with serve([FIXTURE]) as running:
        yield running.url


def test_the_beat_schedule_names_registered_tasks() -> None:
    app = make_celery(Settings(broker_url="redis://unused"))
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks
    assert {
        "communs.crawl_account",
        "communs.crawl_repository",
        "communs.crawl_due",
        "communs.execute_registration",
        "communs.pull_peers",
    } <= set(app.tasks)
    assert app.tasks["communs.crawl_account"].max_retries == 5


def test_a_real_worker_on_redis_crawls_an_account_of_the_fake_forge(
    redis_url: str, forge: str, tmp_path: Path
) -> None:
    from celery.contrib.testing.worker import start_worker

    settings = Settings(
        data_dir=tmp_path,
        broker_url=redis_url,
        allow_loopback=True,
    )

    async def seed() -> int:
        from registry import db

        await db.migrate()
        rows = await Publisher.insert(Publisher(slug="paris", name="Ville de Paris")).returning(
            Publisher.id
        )
        account = await ForgeAccount.insert(
            ForgeAccount(
                publisher=rows[0]["id"],
                forge_kind="gitlab",
                base_url=f"{forge}/gitlab",
                owner="lutece-secteur-public",
            )
        ).returning(ForgeAccount.id)
        return int(account[0]["id"])

    account_id = run_with_database(settings, seed)
    app = make_celery(settings)
    app.conf.update(task_default_queue=f"communs-test-{os.getpid()}")
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        due = app.send_task("communs.crawl_due").get(timeout=60)
        assert due == [account_id]
        # crawl_due queued one crawl_account task; a second, direct one must find
        # nothing new: the catalogue is the same whoever runs the crawl.
        first = app.tasks["communs.crawl_account"].delay(account_id).get(timeout=120)

    async def catalogue() -> tuple[int, int, list[str], list[str]]:
        repos = await Repository.count().where(Repository.gone_at.is_null())
        releases = await Release.count()
        runs = [r["status"] for r in await CrawlRun.select(CrawlRun.status)]
        due_now = await accounts_due(settings, dt.datetime.now(dt.UTC))
        return repos, releases, runs, [str(a) for a in due_now]

    repos, releases, runs, due_now = run_with_database(settings, catalogue)
    assert repos == 6  # the six repositories of lutece-secteur-public
    assert releases >= 90
    assert runs and set(runs) == {"done"}
    assert len(runs) == 2  # the scheduled crawl and the direct one
    assert first["added"] + first["changed"] in (0, 6)
    assert due_now == []  # crawled just now: not due again before its interval


def test_accounts_due_orders_never_crawled_first_and_skips_ignored(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, crawl_interval_hours=24)
    now = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)

    async def work() -> list[int]:
        from registry import db

        await db.migrate()
        pub = (await Publisher.insert(Publisher(slug="p", name="P")).returning(Publisher.id))[0]
        ids = []
        for owner, last, ignored, hours in [
            ("fresh", now - dt.timedelta(hours=2), None, None),
            ("old", now - dt.timedelta(days=3), None, None),
            ("never", None, None, None),
            ("ignored", None, dt.date(2024, 8, 9), None),
            ("hourly", now - dt.timedelta(hours=2), None, 1),
        ]:
            row = await ForgeAccount.insert(
                ForgeAccount(
                    publisher=pub["id"],
                    forge_kind="github",
                    base_url="https://github.com",
                    owner=owner,
                    last_crawled_at=last,
                    ignored_since=ignored,
                    crawl_interval_hours=hours,
                )
            ).returning(ForgeAccount.id)
            ids.append(int(row[0]["id"]))
        from registry.federation.tables import FederationEntity, bind

        bind()
        mirror = await ForgeAccount.insert(
            ForgeAccount(
                publisher=pub["id"],
                forge_kind="github",
                base_url="https://github.com",
                owner="from-a-peer",
            )
        ).returning(ForgeAccount.id)
        await FederationEntity.insert(
            FederationEntity(
                origin="https://region.example",
                entity="forge_account",
                origin_id="7",
                local_id=mirror[0]["id"],
                owner=True,
            )
        )
        due = await accounts_due(settings, now)
        return [ids.index(a) for a in due]

    # never crawled first, then the oldest; ignored, fresh and mirrored accounts are not due
    assert asyncio.run(_bound(settings, work)) == [2, 1, 4]


async def _bound(settings: Settings, work):  # type: ignore[no-untyped-def]
    from registry import db

    db.use_database(settings.effective_database_url)
    try:
        return await work()
    finally:
        await db.close()


def test_with_a_broker_a_registration_is_executed_by_a_worker(
    redis_url: str, tmp_path: Path
) -> None:
    from celery.contrib.testing.worker import start_worker

    from crawlers import tasks
    from registry.services import registrations

    settings = Settings(data_dir=tmp_path, broker_url=redis_url, allow_loopback=True)

    async def register() -> int:
        from registry import db

        await db.migrate()
        pub = await Publisher.insert(Publisher(slug="lyon", name="Lyon")).returning(Publisher.id)
        # nothing listens on port 9: the crawl must end failed, with the reason
        run = await registrations.register(
            "http://127.0.0.1:9/lyon/portail",
            int(pub[0]["id"]),
            user_id=None,
            may_maintain=True,
            settings=settings,
        )
        return run.id

    run_id = run_with_database(settings, register)
    app = tasks._app_for(settings)
    app.conf.update(task_default_queue=f"communs-test-reg-{os.getpid()}")
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        assert tasks.queue_registration(settings, run_id) is True
        end = time.monotonic() + 60
        status = "queued"
        while status in ("queued", "running") and time.monotonic() < end:
            time.sleep(0.5)
            status = run_with_database(settings, lambda: registrations.get_run(run_id)).status
    run = run_with_database(settings, lambda: registrations.get_run(run_id))
    assert run.status == "failed"
    assert run.error  # the reason a person reads
    assert not tasks.queue_registration(Settings(data_dir=tmp_path), run_id)  # no broker
