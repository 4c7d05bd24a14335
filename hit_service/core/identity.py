"""Requester accounts and their keys, worker accounts and passwords, signed session cookies.

* A requester is a row of ``mturk.accounts`` (ID, name, balance); it owns one or more SigV4
  access keys (``mturk.access_keys``). Keys from ``HITFLOW_HIT_SERVICE_REQUESTER_KEYS`` become
  accounts whose ID and name are the access key ID; ``requester add NAME`` makes an account
  with an MTurk-style ID (``A`` + 13 characters) and a generated AWS-style key pair.
* A worker has an MTurk-style worker ID, a unique name and a password hashed with scrypt
  (random 16-byte salt; ``scrypt$n$r$p$salt$hash``).
* Worker sessions are cookies ``<worker_id>.<expiry>.<hmac>`` signed with a key kept in
  ``mturk.service_settings`` (created on first start, shared by every process).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from hit_service.api.auth import KeyRecord
from hit_service.core.store import Row, Store

UPPER_ALNUM = string.ascii_uppercase + string.digits
SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_SECONDS = 12 * 3600


class IdentityError(ValueError):
    """An operator command cannot be done (duplicate name, unknown account, …)."""


def new_requester_id() -> str:
    """``A`` + 13 upper-case letters/digits, like MTurk's customer IDs."""
    return "A" + "".join(secrets.choice(UPPER_ALNUM) for _ in range(13))


new_worker_id = new_requester_id


def new_access_key_id() -> str:
    """``AKIA`` + 16 upper-case letters/digits: 20 characters, like an AWS access key ID."""
    return "AKIA" + "".join(secrets.choice(UPPER_ALNUM) for _ in range(16))


def new_secret_access_key() -> str:
    """40 characters of ``[A-Za-z0-9+/]``, like an AWS secret access key."""
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(40))


# -- passwords ---------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """scrypt with a random salt, in a self-describing string."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time compare)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        computed = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


# -- sessions ----------------------------------------------------------------------------------


class Sessions:
    """Signs and checks worker session cookies and CSRF tokens with the shared key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def rekey(self, key: bytes) -> None:
        """Install the shared key (read from the database at startup)."""
        self._key = key

    def _mac(self, text: str) -> str:
        digest = hmac.new(self._key, text.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, worker_id: str, now: float | None = None) -> str:
        expiry = int((now or time.time()) + SESSION_SECONDS)
        payload = f"{worker_id}.{expiry}"
        return f"{payload}.{self._mac('session:' + payload)}"

    def check(self, cookie: str | None, now: float | None = None) -> str | None:
        """The worker ID of a valid, unexpired cookie, else None."""
        if not cookie:
            return None
        parts = cookie.split(".")
        if len(parts) != 3:
            return None
        worker_id, expiry, mac = parts
        if not hmac.compare_digest(mac, self._mac(f"session:{worker_id}.{expiry}")):
            return None
        try:
            if int(expiry) < (now or time.time()):
                return None
        except ValueError:
            return None
        return worker_id

    def csrf(self, cookie: str) -> str:
        """A token forms must echo; bound to the session cookie."""
        return self._mac("csrf:" + cookie)

    def check_csrf(self, cookie: str | None, token: str | None) -> bool:
        return bool(cookie and token) and hmac.compare_digest(self.csrf(cookie or ""), token or "")


def session_key(store: Store) -> bytes:
    """The shared session-signing key (made once, stored in ``mturk.service_settings``)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO mturk.service_settings (name, value) VALUES ('session_key', %s) ON CONFLICT DO NOTHING",
            (secrets.token_hex(32),),
        )
        row = conn.execute("SELECT value FROM mturk.service_settings WHERE name = 'session_key'").fetchone()
    assert row is not None
    return bytes.fromhex(row["value"])


# -- requesters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRequester:
    """What ``requester add`` prints (the only time the secret is shown)."""

    requester_id: str
    name: str
    access_key_id: str
    secret_access_key: str
    balance: str

    def to_json(self) -> dict[str, str]:
        return {
            "requester_id": self.requester_id,
            "name": self.name,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "balance": self.balance,
        }


def load_key(store: Store, access_key_id: str) -> KeyRecord | None:
    """A key by ID (the ``KeyRing`` loader)."""
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT access_key_id, secret_access_key, requester FROM mturk.access_keys WHERE access_key_id = %s",
            (access_key_id,),
        ).fetchone()
    if row is None:
        return None
    return KeyRecord(row["access_key_id"], row["secret_access_key"], row["requester"])


def upsert_key(
    conn: psycopg.Connection[Row], access_key_id: str, secret: str, initial_balance: Decimal, source: str
) -> str:
    """Make ``access_key_id`` valid with ``secret``; a new key gets its own account (ID = key ID).

    An existing key keeps its account and takes the new secret. Returns the requester ID.
    """
    existing = conn.execute(
        "SELECT requester FROM mturk.access_keys WHERE access_key_id = %s", (access_key_id,)
    ).fetchone()
    if existing is not None:
        conn.execute(
            "UPDATE mturk.access_keys SET secret_access_key = %s WHERE access_key_id = %s", (secret, access_key_id)
        )
        return str(existing["requester"])
    conn.execute(
        """INSERT INTO mturk.accounts (requester, balance, name) VALUES (%s, %s, %s)
           ON CONFLICT (requester) DO NOTHING""",
        (access_key_id, initial_balance, access_key_id),
    )
    conn.execute(
        """INSERT INTO mturk.access_keys (access_key_id, requester, secret_access_key, source)
           VALUES (%s, %s, %s, %s)
           ON CONFLICT (access_key_id) DO UPDATE SET secret_access_key = EXCLUDED.secret_access_key""",
        (access_key_id, access_key_id, secret, source),
    )
    return access_key_id


def apply_keys(store: Store, keys: tuple[tuple[str, str], ...], initial_balance: Decimal, source: str = "env") -> None:
    """Make every configured key valid (startup, and after a test reset)."""
    if not keys:
        return
    with store.transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (0x6869_7466_6B65_79,))
        for access_key_id, secret in keys:
            upsert_key(conn, access_key_id, secret, initial_balance, source)


def add_requester(store: Store, name: str, balance: Decimal) -> NewRequester:
    """A new requester account with a generated key pair."""
    name = name.strip()
    if not name:
        raise IdentityError("the requester name must not be empty")
    requester_id = new_requester_id()
    access_key_id = new_access_key_id()
    secret = new_secret_access_key()
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM mturk.accounts WHERE name = %s", (name,)).fetchone():
            raise IdentityError(f"a requester named {name!r} exists already")
        conn.execute(
            "INSERT INTO mturk.accounts (requester, balance, name) VALUES (%s, %s, %s)",
            (requester_id, balance, name),
        )
        conn.execute(
            """INSERT INTO mturk.access_keys (access_key_id, requester, secret_access_key, source)
               VALUES (%s, %s, %s, 'cli')""",
            (access_key_id, requester_id, secret),
        )
    return NewRequester(requester_id, name, access_key_id, secret, f"{balance:.2f}")


def resolve_requester(conn: psycopg.Connection[Row], ref: str) -> str | None:
    """A requester ID from an ID, a name or one of its access key IDs."""
    row = conn.execute(
        """SELECT requester FROM mturk.accounts WHERE requester = %(r)s OR name = %(r)s
           UNION SELECT requester FROM mturk.access_keys WHERE access_key_id = %(r)s LIMIT 1""",
        {"r": ref},
    ).fetchone()
    return None if row is None else str(row["requester"])


def list_requesters(store: Store) -> list[dict[str, Any]]:
    """Every requester with its balance and key IDs (never secrets)."""
    with store.transaction() as conn:
        rows = conn.execute(
            """SELECT a.requester, a.name, a.balance, a.created_at,
                      coalesce(array_agg(k.access_key_id ORDER BY k.created_at)
                               FILTER (WHERE k.access_key_id IS NOT NULL), '{}') AS keys
               FROM mturk.accounts a LEFT JOIN mturk.access_keys k ON k.requester = a.requester
               GROUP BY a.requester ORDER BY a.created_at, a.requester"""
        ).fetchall()
    return [
        {
            "requester_id": row["requester"],
            "name": row["name"],
            "balance": f"{row['balance']:.2f}",
            "access_key_ids": list(row["keys"]),
        }
        for row in rows
    ]


def set_requester_balance(store: Store, ref: str, balance: Decimal) -> str:
    """Set a requester's balance (operator)."""
    with store.transaction() as conn:
        requester = resolve_requester(conn, ref)
        if requester is None:
            raise IdentityError(f"no requester {ref!r}")
        conn.execute("UPDATE mturk.accounts SET balance = %s WHERE requester = %s", (balance, requester))
    return requester


# -- workers -----------------------------------------------------------------------------------


def add_worker(
    store: Store, name: str, password: str, now: datetime, country: str = "US", subdivision: str | None = None
) -> dict[str, str]:
    """A new worker account; the password is stored hashed."""
    name = name.strip()
    if not name:
        raise IdentityError("the worker name must not be empty")
    if len(password) < 8:
        raise IdentityError("the password must have at least 8 characters")
    country = country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise IdentityError("the locale country must be an ISO 3166 two-letter code such as US")
    worker_id = new_worker_id()
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM mturk.workers WHERE name = %s", (name,)).fetchone():
            raise IdentityError(f"a worker named {name!r} exists already")
        conn.execute(
            """INSERT INTO mturk.workers (worker_id, name, password_hash, locale_country, locale_subdivision,
                   created_at) VALUES (%s, %s, %s, %s, %s, %s)""",
            (worker_id, name, hash_password(password), country, subdivision, now),
        )
    return {"worker_id": worker_id, "name": name, "locale": country + (f"-{subdivision}" if subdivision else "")}


def authenticate_worker(store: Store, name: str, password: str) -> Row | None:
    """The worker row when ``name``/``password`` match, else None."""
    with store.transaction() as conn:
        row = conn.execute("SELECT * FROM mturk.workers WHERE name = %s", (name.strip(),)).fetchone()
    if row is None:
        check_password(password, hash_password("timing-equalizer"))  # same work either way
        return None
    return row if check_password(password, row["password_hash"]) else None


# -- requester users (the console's sign-in) ----------------------------------------------------

REQUESTER_SUBJECT = "requester:"  # session subjects of requester users; worker sessions have none


def add_requester_user(store: Store, account: str, name: str, password: str, now: datetime) -> dict[str, str]:
    """A person who signs in to the requester console and sees only ``account``'s work."""
    name = name.strip()
    if not name:
        raise IdentityError("the user name must not be empty")
    if len(password) < 8:
        raise IdentityError("the password must have at least 8 characters")
    user_id = "U" + new_requester_id()[1:]
    with store.transaction() as conn:
        requester = resolve_requester(conn, account)
        if requester is None:
            raise IdentityError(f"no requester {account!r} (give its name, ID or an access key ID)")
        if conn.execute("SELECT 1 FROM mturk.requester_users WHERE name = %s", (name,)).fetchone():
            raise IdentityError(f"a requester user named {name!r} exists already")
        conn.execute(
            """INSERT INTO mturk.requester_users (user_id, requester, name, password_hash, created_at)
               VALUES (%s, %s, %s, %s, %s)""",
            (user_id, requester, name, hash_password(password), now),
        )
    return {"user_id": user_id, "name": name, "requester_id": requester}


def authenticate_requester_user(store: Store, name: str, password: str) -> Row | None:
    """The requester user row when ``name``/``password`` match, else None."""
    with store.transaction() as conn:
        row = conn.execute("SELECT * FROM mturk.requester_users WHERE name = %s", (name.strip(),)).fetchone()
    if row is None:
        check_password(password, hash_password("timing-equalizer"))
        return None
    return row if check_password(password, row["password_hash"]) else None


def requester_user(store: Store, user_id: str) -> Row | None:
    """A requester user with the account's name and balance, or None."""
    with store.transaction() as conn:
        return conn.execute(
            """SELECT u.user_id, u.name, u.requester, a.name AS account_name, a.balance
               FROM mturk.requester_users u JOIN mturk.accounts a USING (requester) WHERE u.user_id = %s""",
            (user_id,),
        ).fetchone()
