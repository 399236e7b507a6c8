"""The Celery app and its thin tasks.

Tasks wrap plain functions of :mod:`crawlers`; all logic is testable without Celery.
Without a broker (``COMMUNS_BROKER_URL`` empty) nothing here is used: the server runs
the same functions in-process.
"""

from __future__ import annotations

from celery import Celery

from registry.settings import Settings, get_settings


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    app = Celery(
        "communs",
        broker=settings.broker_url or None,
        backend=settings.effective_result_backend,
        include=["crawlers.tasks"],
    )
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="communs",
        broker_connection_retry_on_startup=True,
        timezone="UTC",
    )
    return app


app = make_celery()
