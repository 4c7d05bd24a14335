"""The workforce's SQL: invitations, open sign-up, worker e-mail and its tokens, panel links.

Every rule that must hold across service processes (an invitation's use limit, one account per
panel ID, a reset link used once) is a locking statement or a constraint inside the transaction
that writes, never process memory. Secrets in links are stored as SHA-256 hashes only.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from hit_service.core.database import Row, Store
from hit_service.core.identity import IdentityError, hash_password, new_worker_id
from hit_service.core.quals import Qualifications

EMAIL_RE = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}\Z")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,39}\Z")
VERIFY_TTL = timedelta(days=3)
RESET_TTL = timedelta(hours=1)
MAX_GRANTS = 10


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A link secret and the hash it is stored under."""
    token = secrets.token_urlsafe(24)
    return token, token_hash(token)


def check_email(email: str) -> str:
    email = email.strip()
    if not EMAIL_RE.match(email):
        raise IdentityError("Give an e-mail address like name@example.org.")
    return email


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_RE.match(name):
        raise IdentityError(
            "A worker name has 3 to 40 letters, digits, dots, dashes or underscores, starting with a letter or digit."
        )
    return name


def check_password(password: str) -> None:
    if len(password) < 8:
        raise IdentityError("The password must have at least 8 characters.")
    if len(password) > 1024:
        raise IdentityError("The password must have at most 1,024 characters.")


@dataclass(frozen=True)
class Grant:
    type_id: str
    value: int


class WorkforceStore:
    """SQL for joining and e-mail; methods open their own transaction on ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- invitations ----------------------------------------------------------------------------

    def create_invitation(
        self,
        requester: str | None,
        now: datetime,
        *,
        label: str = "",
        max_uses: int | None = None,
        expires_at: datetime | None = None,
        grants: list[Grant] | None = None,
    ) -> tuple[str, str]:
        """A new invitation: (its ID, the link's secret — shown once, stored hashed)."""
        grants = grants or []
        if max_uses is not None and not 1 <= max_uses <= 1_000_000:
            raise IdentityError("Uses must be between 1 and 1,000,000 (or empty for no limit).")
        if expires_at is not None and expires_at <= now:
            raise IdentityError("The expiry must be in the future.")
        if len(grants) > MAX_GRANTS:
            raise IdentityError(f"An invitation grants at most {MAX_GRANTS} qualifications.")
        token, hashed = new_token()
        invitation_id = "I" + new_worker_id()[1:]
        with self.store.transaction() as conn:
            for grant in grants:
                row = conn.execute(
                    "SELECT requester FROM mturk.qualification_types WHERE qualification_type_id = %s AND NOT deleted",
                    (grant.type_id,),
                ).fetchone()
                if row is None or (requester is not None and row["requester"] != requester):
                    raise IdentityError(f"No qualification type {grant.type_id} of yours to grant.")
            conn.execute(
                """INSERT INTO mturk.invitations (invitation_id, token_hash, requester, label, max_uses, expires_at,
                       grants, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                (
                    invitation_id,
                    hashed,
                    requester,
                    label.strip()[:200],
                    max_uses,
                    expires_at,
                    Jsonb([{"type": g.type_id, "value": g.value} for g in grants]),
                    now,
                ),
            )
        return invitation_id, token

    def invitations(self, requester: str | None) -> list[Row]:
        """A requester's invitations (the operator's when ``requester`` is None), newest first."""
        with self.store.transaction() as conn:
            return conn.execute(
                """SELECT i.*, coalesce(a.name, '') AS requester_name FROM mturk.invitations i
                   LEFT JOIN mturk.accounts a ON a.requester = i.requester
                   WHERE i.requester IS NOT DISTINCT FROM %s ORDER BY i.created_at DESC LIMIT 200""",
                (requester,),
            ).fetchall()

    def revoke_invitation(self, requester: str | None, invitation_id: str) -> bool:
        with self.store.transaction() as conn:
            return (
                conn.execute(
                    "UPDATE mturk.invitations SET revoked = true WHERE invitation_id = %s "
                    "AND requester IS NOT DISTINCT FROM %s",
                    (invitation_id, requester),
                ).rowcount
                == 1
            )

    @staticmethod
    def _usable(row: Row | None, now: datetime) -> str:
        """Why an invitation cannot be used ('' when it can)."""
        if row is None or row["revoked"]:
            return "This invitation link is not valid."
        if row["expires_at"] is not None and row["expires_at"] <= now:
            return "This invitation has expired."
        if row["max_uses"] is not None and row["uses"] >= row["max_uses"]:
            return "This invitation has been used as often as it may be."
        return ""

    def invitation_problem(self, token: str, now: datetime) -> tuple[Row | None, str]:
        with self.store.transaction() as conn:
            row = conn.execute("SELECT * FROM mturk.invitations WHERE token_hash = %s", (token_hash(token),)).fetchone()
        return row, self._usable(row, now)

    @staticmethod
    def _insert_worker(
        conn: Any, name: str, password_hash: str, now: datetime, joined_by: str, panel_pid: str | None = None
    ) -> str:
        if conn.execute("SELECT 1 FROM mturk.workers WHERE lower(name) = lower(%s)", (name,)).fetchone():
            raise IdentityError(f"The name {name} is taken; choose another.")
        worker_id = new_worker_id()
        conn.execute(
            """INSERT INTO mturk.workers (worker_id, name, password_hash, locale_country, created_at)
               VALUES (%s, %s, %s, 'US', %s)""",
            (worker_id, name, password_hash, now),
        )
        conn.execute(
            "INSERT INTO mturk.worker_profiles (worker_id, joined_by, panel_pid) VALUES (%s, %s, %s)",
            (worker_id, joined_by, panel_pid),
        )
        return worker_id

    def join(self, token: str, name: str, password: str, now: datetime) -> str:
        """Make the worker account an invitation allows (counted against its uses); the worker ID."""
        name = check_name(name)
        check_password(password)
        hashed = hash_password(password)  # scrypt outside the transaction (no lock held meanwhile)
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM mturk.invitations WHERE token_hash = %s FOR UPDATE", (token_hash(token),)
            ).fetchone()
            problem = self._usable(row, now)
            if problem:
                raise IdentityError(problem)
            assert row is not None
            worker_id = self._insert_worker(conn, name, hashed, now, f"invitation:{row['invitation_id']}")
            conn.execute(
                "UPDATE mturk.invitations SET uses = uses + 1 WHERE invitation_id = %s", (row["invitation_id"],)
            )
            for grant in row["grants"]:
                Qualifications._grant(
                    conn, grant["type"], worker_id, grant["value"], now
                )  # the API's own grant (a revoked one is replaced)
        return worker_id

    def qualification_types(self, requester: str) -> list[Row]:
        """The requester's types an invitation may grant."""
        with self.store.transaction() as conn:
            return conn.execute(
                "SELECT qualification_type_id, name FROM mturk.qualification_types WHERE requester = %s "
                "AND NOT deleted ORDER BY name",
                (requester,),
            ).fetchall()

    # -- open sign-up (operator approval) -------------------------------------------------------

    def request_signup(self, name: str, password: str, email: str, now: datetime) -> str:
        name = check_name(name)
        check_password(password)
        email = check_email(email) if email.strip() else ""
        hashed = hash_password(password)
        request_id = "S" + new_worker_id()[1:]
        with self.store.transaction() as conn:
            taken = conn.execute(
                """SELECT 1 FROM mturk.workers WHERE lower(name) = lower(%(n)s)
                   UNION ALL SELECT 1 FROM mturk.signup_requests
                   WHERE lower(name) = lower(%(n)s) AND status = 'Pending'""",
                {"n": name},
            ).fetchone()
            if taken:
                raise IdentityError(f"The name {name} is taken; choose another.")
            conn.execute(
                """INSERT INTO mturk.signup_requests (request_id, name, password_hash, email, created_at)
                   VALUES (%s, %s, %s, %s, %s)""",
                (request_id, name, hashed, email or None, now),
            )
        return request_id

    def signups(self, status: str = "Pending") -> list[Row]:
        with self.store.transaction() as conn:
            return conn.execute(
                "SELECT request_id, name, email, status, created_at FROM mturk.signup_requests WHERE status = %s "
                "ORDER BY created_at LIMIT 500",
                (status,),
            ).fetchall()

    def decide_signup(self, request_id: str, approve: bool, now: datetime) -> Row:
        """Approve (the account is made) or reject a pending sign-up; the request with its worker ID."""
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM mturk.signup_requests WHERE request_id = %s AND status = 'Pending' FOR UPDATE",
                (request_id,),
            ).fetchone()
            if row is None:
                raise IdentityError(f"No pending sign-up {request_id}.")
            worker_id = None
            if approve:
                worker_id = self._insert_worker(conn, row["name"], row["password_hash"], now, "signup")
                if row["email"]:
                    conn.execute(
                        "UPDATE mturk.worker_profiles SET email = %s WHERE worker_id = %s", (row["email"], worker_id)
                    )
            conn.execute(
                "UPDATE mturk.signup_requests SET status = %s, decided_at = %s WHERE request_id = %s",
                ("Approved" if approve else "Rejected", now, request_id),
            )
        return {**row, "worker_id": worker_id}

    # -- e-mail ---------------------------------------------------------------------------------

    def profile(self, worker_id: str) -> Row:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO mturk.worker_profiles (worker_id) VALUES (%s) ON CONFLICT DO NOTHING", (worker_id,)
            )
            row = conn.execute("SELECT * FROM mturk.worker_profiles WHERE worker_id = %s", (worker_id,)).fetchone()
        assert row is not None
        return row

    def set_email(self, worker_id: str, email: str, now: datetime) -> str:
        """Record a new, unverified address; the verification link's secret."""
        email = check_email(email)
        token, hashed = new_token()
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO mturk.worker_profiles (worker_id) VALUES (%s) ON CONFLICT DO NOTHING", (worker_id,)
            )
            conn.execute(
                "UPDATE mturk.worker_profiles SET email = %s, email_verified = false WHERE worker_id = %s",
                (email, worker_id),
            )
            conn.execute("DELETE FROM mturk.email_tokens WHERE worker_id = %s AND purpose = 'verify'", (worker_id,))
            conn.execute(
                """INSERT INTO mturk.email_tokens (token_hash, worker_id, purpose, email, expires_at)
                   VALUES (%s, %s, 'verify', %s, %s)""",
                (hashed, worker_id, email, now + VERIFY_TTL),
            )
        return token

    def verify_email(self, token: str, now: datetime) -> str | None:
        """Mark the address verified; the worker ID, or None for a bad, used or stale link."""
        with self.store.transaction() as conn:
            row = conn.execute(
                """UPDATE mturk.email_tokens SET used_at = %(now)s WHERE token_hash = %(h)s AND purpose = 'verify'
                   AND used_at IS NULL AND expires_at > %(now)s RETURNING worker_id, email""",
                {"h": token_hash(token), "now": now},
            ).fetchone()
            if row is None:
                return None
            # The address must still be the one the link was sent to, and no one else's verified one.
            other = conn.execute(
                """SELECT 1 FROM mturk.worker_profiles WHERE lower(email) = lower(%s) AND email_verified
                   AND worker_id <> %s""",
                (row["email"], row["worker_id"]),
            ).fetchone()
            if other:
                return None
            updated = conn.execute(
                "UPDATE mturk.worker_profiles SET email_verified = true WHERE worker_id = %s AND email = %s",
                (row["worker_id"], row["email"]),
            ).rowcount
        return str(row["worker_id"]) if updated else None

    def set_opt_out(self, worker_id: str, opt_out: bool) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO mturk.worker_profiles (worker_id) VALUES (%s) ON CONFLICT DO NOTHING", (worker_id,)
            )
            conn.execute(
                "UPDATE mturk.worker_profiles SET email_opt_out = %s WHERE worker_id = %s", (opt_out, worker_id)
            )

    def reset_token(self, name_or_email: str, now: datetime) -> tuple[str, str, str] | None:
        """(token, address, worker name) for a password reset, if the account has a verified address."""
        ref = name_or_email.strip()
        with self.store.transaction() as conn:
            row = conn.execute(
                """SELECT w.worker_id, w.name, p.email FROM mturk.workers w
                   JOIN mturk.worker_profiles p USING (worker_id)
                   WHERE p.email_verified AND (lower(w.name) = lower(%(r)s) OR lower(p.email) = lower(%(r)s))
                   LIMIT 1""",
                {"r": ref},
            ).fetchone()
            if row is None:
                return None
            token, hashed = new_token()
            conn.execute(
                "DELETE FROM mturk.email_tokens WHERE worker_id = %s AND purpose = 'reset'", (row["worker_id"],)
            )
            conn.execute(
                """INSERT INTO mturk.email_tokens (token_hash, worker_id, purpose, email, expires_at)
                   VALUES (%s, %s, 'reset', %s, %s)""",
                (hashed, row["worker_id"], row["email"], now + RESET_TTL),
            )
        return token, str(row["email"]), str(row["name"])

    def reset_valid(self, token: str, now: datetime) -> bool:
        with self.store.transaction() as conn:
            return (
                conn.execute(
                    """SELECT 1 FROM mturk.email_tokens WHERE token_hash = %s AND purpose = 'reset'
                       AND used_at IS NULL AND expires_at > %s""",
                    (token_hash(token), now),
                ).fetchone()
                is not None
            )

    def reset_password(self, token: str, password: str, now: datetime) -> str:
        """Set a new password from a reset link (used once); every session of the worker ends."""
        check_password(password)
        hashed = hash_password(password)
        with self.store.transaction() as conn:
            row = conn.execute(
                """UPDATE mturk.email_tokens SET used_at = %(now)s WHERE token_hash = %(h)s AND purpose = 'reset'
                   AND used_at IS NULL AND expires_at > %(now)s RETURNING worker_id""",
                {"h": token_hash(token), "now": now},
            ).fetchone()
            if row is None:
                raise IdentityError("This reset link is not valid any more; ask for a new one.")
            conn.execute("UPDATE mturk.workers SET password_hash = %s WHERE worker_id = %s", (hashed, row["worker_id"]))
            conn.execute("DELETE FROM mturk.sessions WHERE subject = %s", (row["worker_id"],))
            # The account's sign-in failures are forgiven: whoever reads its mail may sign in now.
            conn.execute(
                "DELETE FROM mturk.signin_failures "
                "WHERE key = (SELECT 'worker:' || lower(name) FROM mturk.workers WHERE worker_id = %s)",
                (row["worker_id"],),
            )
        return str(row["worker_id"])

    def mail_recipients(self, worker_ids: list[str]) -> dict[str, str]:
        """Verified, not opted-out addresses of these workers."""
        with self.store.transaction() as conn:
            rows = conn.execute(
                """SELECT worker_id, email FROM mturk.worker_profiles
                   WHERE worker_id = ANY(%s) AND email_verified AND NOT email_opt_out""",
                (worker_ids,),
            ).fetchall()
        return {r["worker_id"]: r["email"] for r in rows}

    def requester_name(self, requester: str) -> str:
        with self.store.transaction() as conn:
            row = conn.execute("SELECT name FROM mturk.accounts WHERE requester = %s", (requester,)).fetchone()
        return str(row["name"]) if row and row["name"] else requester

    def log_mail(self, entries: list[tuple[str | None, str, str, str]], now: datetime) -> None:
        """(worker ID, kind, status, detail) per message tried."""
        if not entries:
            return
        with self.store.transaction() as conn, conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO mturk.email_log (worker_id, kind, status, detail, created_at)
                       VALUES (%s, %s, %s, %s, %s)""",
                [(*entry, now) for entry in entries],
            )

    def mail_summary(self) -> list[Row]:
        with self.store.transaction() as conn:
            return conn.execute(
                "SELECT kind, status, count(*) AS n, max(created_at) AS last FROM mturk.email_log "
                "GROUP BY kind, status ORDER BY kind, status"
            ).fetchall()
