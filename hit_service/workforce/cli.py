"""The operator CLI's workforce commands (``python -m hit_service invitation|signup|payout|ledger …``).

invitation create [--label TEXT] [--uses N] [--days N] [--grant TYPE_ID[=VALUE]]…  → the link, once
invitation list | invitation revoke INVITATION_ID
signup list | signup approve REQUEST_ID | signup reject REQUEST_ID
payout run [--out FILE]        → CSV of what is owed (stdout or FILE); marks it paid
payout list | payout export RUN_ID [--out FILE]
ledger check [REQUESTER]       → per requester: charged = earned + fees + reserved; exit 1 on a mismatch
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hit_service.core.database import Store
from hit_service.core.identity import IdentityError
from hit_service.settings import Settings
from hit_service.stores.payouts import Payouts
from hit_service.stores.workforce import WorkforceStore
from hit_service.workforce.manage_routes import parse_invitation_form
from hit_service.workforce.payouts import payout_csv


def add_parsers(commands: Any) -> None:
    """Add the workforce's commands to the CLI's subparsers."""
    invitation = commands.add_parser("invitation", help="invitation links for new workers").add_subparsers(
        dest="action", required=True
    )
    create = invitation.add_parser("create", help="a new invitation link (printed once)")
    create.add_argument("--label", default="")
    create.add_argument("--uses", default="", help="how many accounts it may make (default: no limit)")
    create.add_argument("--days", default="", help="days it stays valid (default: no expiry)")
    create.add_argument("--grant", action="append", default=[], help="QUALIFICATION_TYPE_ID[=VALUE] granted on joining")
    invitation.add_parser("list", help="the operator's invitations")
    revoke = invitation.add_parser("revoke", help="stop an invitation link working")
    revoke.add_argument("invitation_id")
    signup = commands.add_parser("signup", help="open sign-up requests").add_subparsers(dest="action", required=True)
    signup.add_parser("list", help="requests waiting for approval")
    for verb in ("approve", "reject"):
        decide = signup.add_parser(verb, help=f"{verb} a sign-up request")
        decide.add_argument("request_id")
    payout = commands.add_parser("payout", help="payout runs (the service moves no money)").add_subparsers(
        dest="action", required=True
    )
    run = payout.add_parser("run", help="export what is owed as CSV and mark it paid")
    run.add_argument("--out", help="write the CSV here (default: stdout)")
    payout.add_parser("list", help="payout runs")
    export = payout.add_parser("export", help="a past run's CSV again")
    export.add_argument("run_id", type=int)
    export.add_argument("--out")
    ledger = commands.add_parser("ledger", help="ledger checks").add_subparsers(dest="action", required=True)
    check = ledger.add_parser("check", help="reconcile charges with earnings, fees and reservations, to the cent")
    check.add_argument("requester", nargs="?")


def _write(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text, encoding="utf-8-sig", newline="")
    else:
        sys.stdout.write(text)


def run(args: argparse.Namespace, store: Store, settings: Settings) -> int:
    """Run one workforce command; the exit status."""
    now = datetime.now(UTC)
    workforce = WorkforceStore(store)
    payouts = Payouts(store)
    if args.command == "invitation" and args.action == "create":
        grants = [g.partition("=") for g in args.grant]
        if len(grants) > 1:
            raise IdentityError("give at most one --grant per invitation from the CLI")
        fields = {"label": args.label, "max_uses": args.uses, "days": args.days}
        if grants:
            fields.update(grant_type=grants[0][0], grant_value=grants[0][2] or "1")
        invitation_id, token = workforce.create_invitation(None, now, **parse_invitation_form(fields, now))
        print(json.dumps({"invitation_id": invitation_id, "link": f"{settings.base_url}/join/{token}"}, indent=2))
    elif args.command == "invitation" and args.action == "list":
        rows = workforce.invitations(None)
        print(json.dumps([{k: r[k] for k in ("invitation_id", "label", "uses", "max_uses", "revoked")} for r in rows]))
    elif args.command == "invitation" and args.action == "revoke":
        if not workforce.revoke_invitation(None, args.invitation_id):
            raise IdentityError(f"no operator invitation {args.invitation_id}")
    elif args.command == "signup" and args.action == "list":
        print(json.dumps([{**r, "created_at": r["created_at"].isoformat()} for r in workforce.signups()], indent=2))
    elif args.command == "signup":
        decided = workforce.decide_signup(args.request_id, args.action == "approve", now)
        print(json.dumps({"request_id": args.request_id, "worker_id": decided["worker_id"], "name": decided["name"]}))
    elif args.command == "payout" and args.action == "run":
        payout_id, lines = payouts.run_payout(now)
        if not payout_id:
            print("hit_service: nothing is owed; no payout run was made", file=sys.stderr)
            return 1
        _write(payout_csv(lines), args.out)
        print(f"payout run {payout_id}: {len(lines)} line(s), marked paid", file=sys.stderr)
    elif args.command == "payout" and args.action == "list":
        runs = payouts.runs()
        print(
            json.dumps([{**r, "created_at": r["created_at"].isoformat(), "total": f"{r['total']:.2f}"} for r in runs])
        )
    elif args.command == "payout" and args.action == "export":
        past = payouts.run_lines(args.run_id)
        if past is None:
            raise IdentityError(f"no payout run {args.run_id}")
        _write(payout_csv(past), args.out)
    elif args.command == "ledger":
        accounts = payouts.reconcile(args.requester)
        report = {
            requester: {
                **{k: f"{a[k]:.2f}" for k in ("charged", "earned", "fees", "reserved")},
                "balanced": a["balanced"],
                "mismatches": [
                    {**m, "charged": f"{m['charged']:.2f}", "expected": f"{m['expected']:.2f}"} for m in a["mismatches"]
                ],
            }
            for requester, a in accounts.items()
        }
        print(json.dumps(report, indent=2))
        return 0 if all(a["balanced"] for a in accounts.values()) else 1
    return 0
