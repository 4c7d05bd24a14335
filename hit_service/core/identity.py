"""Requester accounts and their keys, worker accounts and passwords, signed session cookies.

* A requester is a row of ``mturk.accounts`` (ID, name, balance); it owns one or more SigV4
  access keys (``mturk.access_keys``). Keys from ``HITFLOW_HIT_SERVICE_REQUESTER_KEYS`` become
  accounts whose ID and name are the access key ID; ``requester add NAME`` makes an account
  with an MTurk-style ID (``A`` + 13 characters) and a generated AWS-style key pair.
* A worker has an MTurk-style worker ID, a unique name and a password hashed with scrypt
  (random 16-byte salt; ``scrypt$n$r$p$salt$hash``).
* Sessions (workers' and console users') live on the server (``mturk.sessions``): the cookie is
  ``<random>.<hmac>``, signed with the key kept in ``mturk.service_settings`` (created on first
  start, shared by every process), and names a row by the SHA-256 of its random part. Sign-out
  deletes the row; a password change deletes every row of the worker.
* Sign-in throttling (``SignInThrottle``): failures are counted per account and per client
  address; past a free allowance each failure makes the key wait longer (doubling, capped at
  15 minutes), and the count is forgotten a day after the last failure — never a lockout for good.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import math
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from hit_service.core.database import Row, Store
from hit_service.stores.accounts import AccountStore

UPPER_ALNUM = string.ascii_uppercase + string.digits
SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class KeyRecord:
    """A requester key as the API's SigV4 verifier needs it (``hit_service.api.auth``)."""

    access_key_id: str
    secret: str
    requester: str


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
    """Signs and checks worker session cookies and CSRF tokens with the shared key.

    The cookie only proves it was made here; whether it is still valid is the server's
    ``mturk.sessions`` row (``open_session`` / ``session_subject`` / ``close_session``).
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def rekey(self, key: bytes) -> None:
        """Install the shared key (read from the database at startup)."""
        self._key = key

    def _mac(self, text: str) -> str:
        digest = hmac.new(self._key, text.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self) -> tuple[str, str]:
        """A new cookie and the hash its server-side row is stored under."""
        secret = secrets.token_urlsafe(32)
        return f"{secret}.{self._mac('session:' + secret)}", _session_hash(secret)

    def check(self, cookie: str | None) -> str | None:
        """The row hash of a cookie made here, else None (the row decides whether it is live)."""
        if not cookie:
            return None
        secret, _, mac = cookie.partition(".")
        if not secret or not hmac.compare_digest(mac, self._mac("session:" + secret)):
            return None
        return _session_hash(secret)

    def csrf(self, cookie: str) -> str:
        """A token forms must echo; bound to the session cookie."""
        return self._mac("csrf:" + cookie)

    def check_csrf(self, cookie: str | None, token: str | None) -> bool:
        return bool(cookie and token) and hmac.compare_digest(self.csrf(cookie or ""), token or "")


def _session_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def open_session(store: Store, sessions: Sessions, subject: str, now: datetime) -> str:
    """Start a session for ``subject`` (a worker ID, or ``REQUESTER_SUBJECT`` + a console user ID):
    its cookie, valid ``SESSION_SECONDS`` or until sign-out / a password change."""
    cookie, session_hash = sessions.issue()
    with store.transaction() as conn:
        store.accounts.delete_expired_sessions(conn, (subject, now))
        store.accounts.insert_session(conn, (session_hash, subject, now, now + timedelta(seconds=SESSION_SECONDS)))
    return cookie


def session_subject(store: Store, sessions: Sessions, cookie: str | None, now: datetime) -> str | None:
    """The subject of a live session cookie, else None (forged, expired or signed out)."""
    session_hash = sessions.check(cookie)
    if session_hash is None:
        return None
    with store.transaction() as conn:
        row = store.accounts.session_subject(conn, (session_hash, now)).fetchone()
    return None if row is None else str(row["subject"])


def session_worker(store: Store, sessions: Sessions, cookie: str | None, now: datetime) -> Row | None:
    """The worker of a live worker-session cookie, else None."""
    session_hash = sessions.check(cookie)
    if session_hash is None:
        return None
    with store.transaction() as conn:
        return store.workers.worker_of_session(conn, (session_hash, now)).fetchone()


def close_session(store: Store, sessions: Sessions, cookie: str | None) -> None:
    """Sign-out: the cookie stops working everywhere at once."""
    session_hash = sessions.check(cookie)
    if session_hash is not None:
        with store.transaction() as conn:
            store.accounts.delete_session(conn, (session_hash,))


def session_key(store: Store) -> bytes:
    """The shared session-signing key (made once, stored in ``mturk.service_settings``)."""
    with store.transaction() as conn:
        store.accounts.store_session_key(conn, (secrets.token_hex(32),))
        row = store.accounts.session_key_value(conn).fetchone()
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
        row = store.accounts.key_record(conn, (access_key_id,)).fetchone()
    if row is None:
        return None
    return KeyRecord(row["access_key_id"], row["secret_access_key"], row["requester"])


def upsert_key(
    conn: psycopg.Connection[Row], access_key_id: str, secret: str, initial_balance: Decimal, source: str
) -> str:
    """Make ``access_key_id`` valid with ``secret``; a new key gets its own account (ID = key ID).

    An existing key keeps its account and takes the new secret. Returns the requester ID.
    """
    existing = AccountStore.key_owner(conn, (access_key_id,)).fetchone()
    if existing is not None:
        AccountStore.set_key_secret(conn, (secret, access_key_id))
        return str(existing["requester"])
    AccountStore.insert_account_if_new(conn, (access_key_id, initial_balance, access_key_id))
    AccountStore.upsert_key_row(conn, (access_key_id, access_key_id, secret, source))
    return access_key_id


def apply_keys(store: Store, keys: tuple[tuple[str, str], ...], initial_balance: Decimal, source: str = "env") -> None:
    """Make every configured key valid (startup, and after a test reset)."""
    if not keys:
        return
    with store.transaction() as conn:
        store.accounts.lock_keys(conn, (0x6869_7466_6B65_79,))
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
        if store.accounts.name_taken(conn, (name,)).fetchone():
            raise IdentityError(f"a requester named {name!r} exists already")
        store.accounts.insert_account(conn, (requester_id, balance, name))
        store.accounts.insert_key(conn, (access_key_id, requester_id, secret))
    return NewRequester(requester_id, name, access_key_id, secret, f"{balance:.2f}")


def resolve_requester(conn: psycopg.Connection[Row], ref: str) -> str | None:
    """A requester ID from an ID, a name or one of its access key IDs."""
    row = AccountStore.resolve(conn, {"r": ref}).fetchone()
    return None if row is None else str(row["requester"])


def list_requesters(store: Store) -> list[dict[str, Any]]:
    """Every requester with its balance and key IDs (never secrets)."""
    with store.transaction() as conn:
        rows = store.accounts.list_with_keys(conn).fetchall()
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
        store.accounts.set_balance(conn, requester, balance)  # the difference is an 'adjustment' ledger entry
    return requester


# -- workers -----------------------------------------------------------------------------------


def _check_password_rules(password: str) -> None:
    if len(password) < 8:
        raise IdentityError("the password must have at least 8 characters")


def add_worker(
    store: Store, name: str, password: str, now: datetime, country: str = "US", subdivision: str | None = None
) -> dict[str, str]:
    """A new worker account; the password is stored hashed."""
    name = name.strip()
    if not name:
        raise IdentityError("the worker name must not be empty")
    _check_password_rules(password)
    country = country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise IdentityError("the locale country must be an ISO 3166 two-letter code such as US")
    worker_id = new_worker_id()
    with store.transaction() as conn:
        if store.workers.name_taken(conn, (name,)).fetchone():
            raise IdentityError(f"a worker named {name!r} exists already")
        store.workers.insert_worker(conn, (worker_id, name, hash_password(password), country, subdivision, now))
    return {"worker_id": worker_id, "name": name, "locale": country + (f"-{subdivision}" if subdivision else "")}


def set_worker_password(store: Store, name: str, password: str) -> dict[str, str]:
    """Change a worker's password; every session of the worker ends (signed-in browsers too)."""
    _check_password_rules(password)
    with store.transaction() as conn:
        row = store.workers.set_password(conn, (hash_password(password), name.strip())).fetchone()
        if row is None:
            raise IdentityError(f"no worker named {name!r}")
        ended = store.accounts.delete_sessions_of(conn, (row["worker_id"],)).rowcount
    return {"worker_id": row["worker_id"], "name": name.strip(), "sessions_ended": str(ended)}


@functools.cache
def _decoy_hash() -> str:
    """A hash to check unknown names against, so they cost the same scrypt as known ones."""
    return hash_password(secrets.token_urlsafe(16))


def authenticate_worker(store: Store, name: str, password: str) -> Row | None:
    """The worker row when ``name``/``password`` match, else None (same work either way)."""
    with store.transaction() as conn:
        row = store.workers.by_name(conn, (name.strip(),)).fetchone()
    if row is None:
        check_password(password, _decoy_hash())
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
        if store.console.user_name_taken(conn, (name,)).fetchone():
            raise IdentityError(f"a requester user named {name!r} exists already")
        store.console.insert_user(conn, (user_id, requester, name, hash_password(password), now))
    return {"user_id": user_id, "name": name, "requester_id": requester}


def authenticate_requester_user(store: Store, name: str, password: str) -> Row | None:
    """The requester user row when ``name``/``password`` match, else None."""
    with store.transaction() as conn:
        row = store.console.user_by_name(conn, (name.strip(),)).fetchone()
    if row is None:
        check_password(password, _decoy_hash())  # the same scrypt work as a known name
        return None
    return row if check_password(password, row["password_hash"]) else None


def requester_user(store: Store, user_id: str) -> Row | None:
    """A requester user with the account's name and balance, or None."""
    with store.transaction() as conn:
        return store.console.user_with_account(conn, (user_id,)).fetchone()


# -- sign-in throttling --------------------------------------------------------------------------


@dataclass(frozen=True)
class ThrottleRule:
    """Failures a key may have for free, then waits doubling from ``first`` up to ``cap``."""

    free: int
    first: timedelta = timedelta(seconds=15)
    cap: timedelta = timedelta(minutes=15)

    def wait(self, failures: int) -> timedelta:
        if failures <= self.free:
            return timedelta(0)
        return min(self.first * 2 ** min(failures - self.free - 1, 16), self.cap)


ACCOUNT_RULE = ThrottleRule(free=5)  # one account: 5 tries, then 15 s, 30 s, 1 min, … 15 min
ADDRESS_RULE = ThrottleRule(free=40)  # one address may be many people behind a NAT
FORGET_AFTER = timedelta(hours=24)  # a day after a key's last failure, its count starts again


class SignInThrottle:
    """Growing delays after failed sign-ins, per account and per client address (in the database,
    so every process of the service counts the same failures).

    ``wait(keys, now)`` says how long a sign-in must wait (zero: go ahead) — checked before the
    password, so a waiting key costs no scrypt and tells nothing. ``failed`` counts a failure
    for every key; ``succeeded`` clears the account's count.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def keys(account: str, address: str | None) -> dict[str, ThrottleRule]:
        keys = {account: ACCOUNT_RULE}
        if address:
            keys[f"addr:{address}"] = ADDRESS_RULE
        return keys

    def wait(self, keys: dict[str, ThrottleRule], now: datetime) -> int:
        """Seconds the caller must wait before trying again (0: go ahead)."""
        with self.store.transaction() as conn:
            rows = self.store.accounts.blocked_until(conn, (list(keys), now)).fetchall()
        if not rows:
            return 0
        return max(math.ceil((row["blocked_until"] - now).total_seconds()) for row in rows)

    def failed(self, keys: dict[str, ThrottleRule], now: datetime) -> int:
        """Count a failure for each key; the seconds until the next try is allowed."""
        longest = 0
        with self.store.transaction() as conn:
            for key, rule in keys.items():
                row = self.store.accounts.record_failure(
                    conn, {"k": key, "now": now, "old": now - FORGET_AFTER}
                ).fetchone()
                assert row is not None
                wait = rule.wait(row["failures"])
                self.store.accounts.block_until(conn, (now + wait, key))
                longest = max(longest, math.ceil(wait.total_seconds()))
        return longest

    def succeeded(self, account: str) -> None:
        with self.store.transaction() as conn:
            self.store.accounts.clear_failures(conn, (account,))
