"""``python -m hit_service [serve | requester … | worker …]``: the service and its operator CLI.

    python -m hit_service                      serve (same as ``serve``)
    python -m hit_service serve
    python -m hit_service requester add NAME [--balance 10000.00]   → JSON with the new key pair
    python -m hit_service requester list                            → JSON (never secrets)
    python -m hit_service requester set-balance NAME_OR_ID AMOUNT
    python -m hit_service requester add-user NAME_OR_ID USER [--password-file FILE]
    python -m hit_service worker add NAME [--password-file FILE] [--locale US[-CA]]
    python -m hit_service worker set-password NAME [--password-file FILE]
    python -m hit_service worker list
    python -m hit_service invitation|signup|payout|ledger …          (hit_service/workforce/cli.py)

A password (a worker's or a console user's) never goes on the command line (where the process list and the shell
history would keep it): it is read from ``--password-file``, else from the environment variable
``HITFLOW_WORKER_PASSWORD``, else typed at a prompt (twice) or, when standard input is not a
terminal, its first line.

Every command reads ``HITFLOW_HIT_SERVICE_DB_URL`` (and the rest of the settings) from the
environment or ``HITFLOW_HIT_SERVICE_CONFIG``, and migrates the schema first. With neither set,
an operator command run in the repository after ``make demo`` uses the demo's settings
(``.run/hit_service.env``, which the demo writes) and says so on stderr. The secret of a
new requester key is printed once, on stdout, and never logged.

Uvicorn's access log records method, path and status only; request headers (which carry the
SigV4 credentials) are never logged.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from hit_service.settings import Settings, SettingsError
from mturk_money import cents, is_money

if TYPE_CHECKING:
    from fastapi import FastAPI

    from hit_service.core.database import Store

DEMO_SETTINGS = ".run/hit_service.env"  # written by `make demo` (scripts/demo.py), relative to the working directory


def serve(settings: Settings) -> int:
    """Build the app and serve until SIGTERM/SIGINT (several processes with ``workers`` > 1)."""
    import uvicorn

    if settings.workers > 1:
        # Each worker process builds its own app from the environment (the factory below).
        uvicorn.run(
            "hit_service.__main__:app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            # uvicorn restarts a worker that has not finished starting in this many seconds (5 by
            # default): on a busy 2-core host importing the app takes longer, and the workers were
            # killed over and over (seen in the compose stack). A worker that hangs is still replaced.
            timeout_worker_healthcheck=60,
            log_level="info",
            access_log=settings.access_log,
        )
        return 0
    from hit_service.app import create_app

    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=settings.access_log)
    return 0


def app_from_env() -> FastAPI:
    """The app factory uvicorn's worker processes call (``HITFLOW_HIT_SERVICE_WORKERS`` > 1)."""
    from hit_service.app import create_app

    return create_app(Settings.from_env())


def _store(settings: Settings) -> Store:
    from hit_service.core.database import Store

    store = Store(settings.db_url, max_size=2)
    store.open()
    store.migrate()
    return store


def _money(text: str) -> Decimal:
    if not is_money(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount like 10000.00")
    return cents(Decimal(text))


WORKFORCE_COMMANDS = ("invitation", "signup", "payout", "ledger")
PASSWORD_ENV = "HITFLOW_WORKER_PASSWORD"
PASSWORD_HELP = f"read the password from this file's first line (else ${PASSWORD_ENV}, a prompt or stdin)"


def read_password(password_file: str | None, env: str | None = PASSWORD_ENV) -> str:
    """A new password from a file, the environment variable ``env``, a prompt or stdin — never argv."""
    if password_file:
        try:
            with open(password_file, encoding="utf-8") as handle:
                return handle.readline().rstrip("\r\n")
        except OSError as exc:
            raise PasswordError(f"cannot read {password_file}: {exc.strerror}") from exc
    if env and os.environ.get(env):
        return os.environ[env]
    if sys.stdin.isatty():
        first = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != first:
            raise PasswordError("the two passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        raise PasswordError(f"no password: give --password-file, set {PASSWORD_ENV} or pipe it on standard input")
    return line.rstrip("\r\n")


class PasswordError(ValueError):
    """No usable password was given."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hit_service", description="hitflow's MTurk-compatible HIT service")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the service (the default)")

    requester = commands.add_parser("requester", help="requester accounts and keys").add_subparsers(
        dest="action", required=True
    )
    add = requester.add_parser("add", help="create a requester with a generated key pair (printed as JSON)")
    add.add_argument("name")
    add.add_argument("--balance", type=_money, default=None, help="starting balance (default: the initial balance)")
    requester.add_parser("list", help="requesters, balances and key IDs (never secrets)")
    balance = requester.add_parser("set-balance", help="set a requester's balance")
    balance.add_argument("requester", help="name, requester ID or access key ID")
    balance.add_argument("amount", type=_money)
    user = requester.add_parser(
        "add-user",
        allow_abbrev=False,
        help="a person who signs in to the requester console (/requester); the password is asked for, "
        "or read from stdin when stdin is not a terminal — never an argument",
    )
    user.add_argument("requester", help="the account: name, requester ID or access key ID")
    user.add_argument("user", help="the user's sign-in name")
    user.add_argument("--password-file", help="read the password from this file's first line (else a prompt or stdin)")

    worker = commands.add_parser("worker", help="worker accounts for the worker site").add_subparsers(
        dest="action", required=True
    )
    wadd = worker.add_parser("add", help="create a worker who can sign in to the worker site", allow_abbrev=False)
    wadd.add_argument("name")
    wadd.add_argument("--password-file", help=PASSWORD_HELP)
    wadd.add_argument("--locale", default="US", help="ISO country, optionally -SUBDIVISION (default US)")
    wpw = worker.add_parser(
        "set-password", help="change a worker's password; signs the worker out everywhere", allow_abbrev=False
    )
    wpw.add_argument("name")
    wpw.add_argument("--password-file", help=PASSWORD_HELP)
    worker.add_parser("list", help="workers (never passwords)")
    from hit_service.workforce import cli as workforce_cli

    workforce_cli.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; 0 on success, 2 on a usage or configuration error."""
    arguments = sys.argv[1:] if argv is None else argv
    if any(arg == "--password" or arg.startswith("--password=") for arg in arguments):
        print(
            "hit_service: --password is not accepted: a password on the command line ends up in the process "
            f"list and the shell history. Use --password-file FILE, ${PASSWORD_ENV}, the prompt or standard input.",
            file=sys.stderr,
        )
        return 2
    args = _parser().parse_args(arguments)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    environ: dict[str, str] = dict(os.environ)
    demo = Path(DEMO_SETTINGS)
    if (
        args.command not in (None, "serve")
        and not environ.get("HITFLOW_HIT_SERVICE_DB_URL")
        and not environ.get("HITFLOW_HIT_SERVICE_CONFIG")
        and demo.is_file()
    ):
        # An operator command run beside `make demo` manages the demo's service without any setup.
        print(
            f"hit_service: using the demo's settings in {demo} (set HITFLOW_HIT_SERVICE_DB_URL to override)",
            file=sys.stderr,
        )
        environ["HITFLOW_HIT_SERVICE_CONFIG"] = str(demo)
    try:
        settings = Settings.from_env(environ)
    except SettingsError as exc:
        print(f"hit_service: {exc}", file=sys.stderr)
        return 2
    if args.command in (None, "serve"):
        return serve(settings)

    from hit_service.core import identity

    store = _store(settings)
    try:
        if args.command in WORKFORCE_COMMANDS:
            from hit_service.workforce import cli as workforce_cli

            return workforce_cli.run(args, store, settings)
        if args.command == "requester" and args.action == "add":
            created = identity.add_requester(store, args.name, args.balance or settings.initial_balance)
            print(json.dumps(created.to_json(), indent=2))
        elif args.command == "requester" and args.action == "list":
            print(json.dumps(identity.list_requesters(store), indent=2))
        elif args.command == "requester" and args.action == "set-balance":
            requester = identity.set_requester_balance(store, args.requester, args.amount)
            print(json.dumps({"requester_id": requester, "balance": f"{args.amount:.2f}"}))
        elif args.command == "requester" and args.action == "add-user":
            password = read_password(args.password_file, env=None)
            created_user = identity.add_requester_user(store, args.requester, args.user, password, datetime.now(UTC))
            print(json.dumps(created_user, indent=2))
        elif args.command == "worker" and args.action == "add":
            country, _, subdivision = args.locale.partition("-")
            created_worker = identity.add_worker(
                store, args.name, read_password(args.password_file), datetime.now(UTC), country, subdivision or None
            )
            print(json.dumps(created_worker, indent=2))
        elif args.command == "worker" and args.action == "set-password":
            print(json.dumps(identity.set_worker_password(store, args.name, read_password(args.password_file))))
        elif args.command == "worker" and args.action == "list":
            with store.transaction() as conn:
                rows = store.workers.list_workers(conn).fetchall()
            print(json.dumps(rows, indent=2))
    except (identity.IdentityError, PasswordError) as exc:
        print(f"hit_service: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
