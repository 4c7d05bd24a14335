"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the e-mail tests."""

from __future__ import annotations

import email
import re
import threading
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest

from hitflow_support.service_process import free_port

LINK_RE = re.compile(r"https?://\S+")


class Mailbox:
    """Messages delivered to the server, in order; ``wait_for`` polls until one matches."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.host = "127.0.0.1"
        self.port = 0

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, address: str, subject: str, timeout: float = 30.0, count: int = 1) -> EmailMessage:
        """The ``count``-th message to ``address`` whose subject holds ``subject``."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.to(address) if subject.lower() in str(m["Subject"]).lower()]
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no message {subject!r} to {address} within {timeout} s; got {self.to(address)}")
            time.sleep(0.1)


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, path_part: str) -> str:
    """The first link of the message whose URL holds ``path_part``."""
    links = [url for url in LINK_RE.findall(body(message)) if path_part in url]
    assert links, f"no {path_part} link in {body(message)!r}"
    return links[0]


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 for the module; its messages in ``mailbox.messages``."""
    from aiosmtpd.controller import Controller

    box = Mailbox()
    box.port = free_port()
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
