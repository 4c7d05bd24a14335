"""E-mail to workers over SMTP, configured from the environment; off when nothing is configured.

``HITFLOW_SMTP_HOST`` turns e-mail on (``_PORT`` 25, ``_FROM`` required with it, ``_USER`` /
``_PASSWORD`` optional, ``_TLS`` = ``starttls`` | ``ssl`` | ``none``). Without a host every message
stays on the worker's dashboard only, the operator page says so, and each attempt is logged in
``mturk.email_log`` as ``off`` — nothing is lost silently.
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from hit_service.settings import SettingsError, _with_file

logger = logging.getLogger("hit_service.mail")
TLS_MODES = ("none", "starttls", "ssl")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class WorkforceSettings:
    """The workforce's settings: SMTP, and whether anyone may ask for an account (off by default)."""

    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = ""
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: str = "none"
    open_signup: bool = False

    @property
    def email_on(self) -> bool:
        return bool(self.smtp_host)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkforceSettings:
        env = _with_file(os.environ if environ is None else environ)
        host = env.get("HITFLOW_SMTP_HOST", "").strip()
        sender = env.get("HITFLOW_SMTP_FROM", "").strip()
        tls = env.get("HITFLOW_SMTP_TLS", "none").strip().lower() or "none"
        if tls not in TLS_MODES:
            raise SettingsError(f"HITFLOW_SMTP_TLS must be one of {', '.join(TLS_MODES)}, got {tls!r}")
        if host and "@" not in sender:
            raise SettingsError(
                "HITFLOW_SMTP_FROM (an address like hits@example.org) is required with HITFLOW_SMTP_HOST"
            )
        port_text = env.get("HITFLOW_SMTP_PORT", "").strip() or ("465" if tls == "ssl" else "25")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SettingsError(f"HITFLOW_SMTP_PORT must be a port number, got {port_text!r}")
        return cls(
            smtp_host=host,
            smtp_port=int(port_text),
            smtp_from=sender,
            smtp_user=env.get("HITFLOW_SMTP_USER", "").strip(),
            smtp_password=env.get("HITFLOW_SMTP_PASSWORD", ""),
            smtp_tls=tls,
            open_signup=env.get("HITFLOW_HIT_SERVICE_OPEN_SIGNUP", "").strip().lower() in _TRUE,
        )


@dataclass(frozen=True)
class Mail:
    """One message to one address."""

    to: str
    subject: str
    body: str


class Mailer:
    """Sends over one SMTP connection per call; returns which messages failed (never raises)."""

    def __init__(self, settings: WorkforceSettings) -> None:
        self.settings = settings

    @property
    def on(self) -> bool:
        return self.settings.email_on

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=20, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=20)
            if s.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if s.smtp_user:
            smtp.login(s.smtp_user, s.smtp_password)
        return smtp

    def send(self, messages: Iterable[Mail]) -> dict[int, str]:
        """Send each message; ``{index: reason}`` for those that failed (all of them when off)."""
        batch = list(messages)
        if not batch:
            return {}
        if not self.on:
            return dict.fromkeys(range(len(batch)), "e-mail is off (no HITFLOW_SMTP_HOST)")
        failed: dict[int, str] = {}
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning("SMTP server %s:%s unreachable: %s", self.settings.smtp_host, self.settings.smtp_port, exc)
            return dict.fromkeys(range(len(batch)), f"SMTP server unreachable: {type(exc).__name__}")
        try:
            for index, mail in enumerate(batch):
                message = EmailMessage()
                message["From"] = self.settings.smtp_from
                message["To"] = mail.to
                message["Subject"] = mail.subject
                message["Message-ID"] = make_msgid(domain=self.settings.smtp_from.rpartition("@")[2] or None)
                message.set_content(mail.body)
                try:
                    smtp.send_message(message)
                except (OSError, smtplib.SMTPException) as exc:
                    failed[index] = f"refused by the SMTP server: {type(exc).__name__}"
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
        return failed
