"""Wiring the workforce into the service app: its routes and NotifyWorkers e-mail."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI

from hit_service.core import identity
from hit_service.core.models import MTurkBackend
from hit_service.settings import Settings

logger = logging.getLogger("hit_service.workforce")


def install(
    app: FastAPI, backend: MTurkBackend, settings: Settings, sessions: identity.Sessions, operator_denied: Any
) -> None:
    """Add the workforce's routes and NotifyWorkers e-mail to the app."""
    from hit_service.stores.workforce import WorkforceStore
    from hit_service.workforce import manage_routes, panel_routes, site_routes
    from hit_service.workforce.mailer import Mail, Mailer, WorkforceSettings

    workforce = WorkforceSettings.from_env()
    store, mailer = WorkforceStore(backend.store), Mailer(workforce)
    app.include_router(site_routes.router(backend, settings, sessions, store, mailer))
    app.include_router(panel_routes.router(backend, settings, sessions))
    app.include_router(manage_routes.router(backend, settings, sessions, workforce, operator_denied))
    app.state.workforce = workforce
    if not mailer.on:
        logger.warning(
            "e-mail is off (no HITFLOW_SMTP_HOST): NotifyWorkers messages stay on workers' dashboards, "
            "and workers cannot confirm addresses or reset passwords by e-mail"
        )
    sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hitflow-mail")

    def deliver(requester: str, worker_ids: list[str], subject: str, text: str) -> None:
        recipients = store.mail_recipients(worker_ids)
        sender_name = store.requester_name(requester)
        footer = (
            f"\n\n--\nSent by requester {sender_name} through hitflow to worker {{worker}}. "
            f"To stop these e-mails: {settings.base_url}/worker/account (messages stay on your dashboard)."
        )
        order = list(recipients)
        mails = [Mail(recipients[w], subject, text + footer.replace("{worker}", w)) for w in order]
        failed = mailer.send(mails)
        status = "sent" if mailer.on else "off"
        entries: list[tuple[str | None, str, str, str]] = [
            (w, "notify", "failed" if i in failed and mailer.on else status, failed.get(i, ""))
            for i, w in enumerate(order)
        ]
        store.log_mail(entries, backend.clock.now())

    def report(future: Future[None]) -> None:
        if future.exception() is not None:
            logger.error("NotifyWorkers e-mail: %s", future.exception())

    def notify(requester: str, worker_ids: list[str], subject: str, text: str) -> None:
        if not worker_ids:
            return
        future = sender.submit(deliver, requester, worker_ids, subject, text)
        future.add_done_callback(report)

    backend.notify_hook = notify
