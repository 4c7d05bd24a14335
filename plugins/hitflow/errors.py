"""One line that says what to check when a task fails on configuration or an unreachable service.

botocore's ``Could not connect to the endpoint URL: "http://…"`` and a long traceback name
neither the Airflow connection nor the HIT service. :func:`explained` logs, before the
traceback, one line naming the connection (``mturk_default`` or ``hitflow_db``), the endpoint and
what to check; the exception itself is raised unchanged (so retries work as before).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
_AUTH_CODES = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "AccessDeniedException",
    "MissingAuthenticationTokenException",
    "IncompleteSignature",
}
_WHERE = "Admin → Connections, or the AIRFLOW_CONN_{} environment variable"


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _mturk_endpoint() -> str:
    from airflow.sdk import BaseHook

    from hitflow.connections import MTURK_CONN_ID

    try:
        extra = BaseHook.get_connection(MTURK_CONN_ID).extra_dejson
    except Exception:
        return "(no endpoint: the connection is missing)"
    endpoint = extra.get("endpoint_url") or extra.get("service_config", {}).get("mturk", {}).get("endpoint_url")
    return str(endpoint) if endpoint else "Amazon's default endpoint (no endpoint_url in the extra)"


def explain(err: BaseException) -> str | None:
    """The one-line explanation of ``err`` (or of an error it wraps); None for other errors."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    from hitflow.connections import DB_CONN_ID, MTURK_CONN_ID  # not at DAG parse time

    for e in _chain(err):
        name = type(e).__name__
        if isinstance(e, EndpointConnectionError | ConnectTimeoutError):
            endpoint = getattr(e, "kwargs", {}).get("endpoint_url") or _mturk_endpoint()
            return (
                f"{MTURK_CONN_ID}: cannot reach the HIT service at {endpoint} ({name}). Check that the service "
                f"runs and answers there, and that endpoint_url in the extra of connection {MTURK_CONN_ID} "
                f"({_WHERE.format(MTURK_CONN_ID.upper())}) points at it."
            )
        if isinstance(e, ReadTimeoutError):
            endpoint = getattr(e, "kwargs", {}).get("endpoint_url") or _mturk_endpoint()
            return (
                f"{MTURK_CONN_ID}: the HIT service at {endpoint} did not answer in time ({name}). "
                "Check its load and logs; the task's retries and the UniqueRequestTokens make a rerun safe."
            )
        if isinstance(e, NoCredentialsError):
            return (
                f"{MTURK_CONN_ID}: no requester credentials ({name}). Set the key pair as login/password of "
                f"connection {MTURK_CONN_ID} ({_WHERE.format(MTURK_CONN_ID.upper())})."
            )
        if isinstance(e, ClientError) and e.response.get("Error", {}).get("Code") in _AUTH_CODES:
            code = e.response["Error"]["Code"]
            return (
                f"{MTURK_CONN_ID}: the HIT service at {_mturk_endpoint()} refused the requester's credentials "
                f"({code}). Check the key pair (login/password) of connection {MTURK_CONN_ID} "
                f"({_WHERE.format(MTURK_CONN_ID.upper())}) against the service's requester keys."
            )
        if name == "AirflowNotFoundException" and ("conn_id" in str(e) or "onnection" in str(e)):
            conn_id = MTURK_CONN_ID if MTURK_CONN_ID in str(e) else DB_CONN_ID if DB_CONN_ID in str(e) else "?"
            return f"connection {conn_id} is not defined: {e}. Add it ({_WHERE.format(conn_id.upper())})."
        if name == "OperationalError" and type(e).__module__.startswith("psycopg"):
            first = str(e).strip().splitlines()[0] if str(e).strip() else name
            return (
                f"{DB_CONN_ID}: cannot use hitflow's PostgreSQL database ({first}). Check that the server runs "
                f"and host, port, login and database of connection {DB_CONN_ID} "
                f"({_WHERE.format(DB_CONN_ID.upper())})."
            )
    return None


@contextmanager
def explained(log: logging.Logger) -> Iterator[None]:
    """Log :func:`explain`'s line for a failure in the block, then let the error go on."""
    try:
        yield
    except Exception as err:
        line = explain(err)
        if line:
            log.error("%s", line)
        raise


def explain_failures(func: Callable[P, R]) -> Callable[P, R]:
    """A task function whose configuration/unreachable-service failures start with :func:`explain`'s line."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with explained(logging.getLogger("airflow.task")):
            return func(*args, **kwargs)

    return wrapper
