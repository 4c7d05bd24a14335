"""Settings from the environment (or a file of ``NAME=value`` lines), read once at startup.

All variables are prefixed ``HITFLOW_`` so they cannot collide with AWS or Airflow settings.
``HITFLOW_HIT_SERVICE_CONFIG`` names an optional file of ``NAME=value`` lines (``#`` starts a
comment); variables set in the environment win over the file. The service refuses to start
on anything malformed rather than guessing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from mturk_money import cents, is_money

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LAYOUTS_DIR = REPO_ROOT / "include" / "layouts"
ACCESS_KEY_RE = re.compile(r"^[A-Z0-9]{16,128}\Z")
SECRET_KEY_RE = re.compile(r"^[\x21-\x7e]{16,128}\Z")  # printable, no spaces
MODES = ("local", "production")

_TRUE = {"1", "true", "yes", "on"}


class SettingsError(ValueError):
    """A setting is missing or malformed; the service refuses to start."""


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to run; built by ``from_env`` or directly in tests."""

    db_url: str
    host: str = "127.0.0.1"
    port: int = 8100
    test_mode: bool = False
    layouts_dir: Path = DEFAULT_LAYOUTS_DIR
    initial_balance: Decimal = Decimal("10000.00")
    latency_ms: int = 0
    db_pool_max: int = 10
    mode: str = "local"
    requester_keys: tuple[tuple[str, str], ...] = ()
    operator_password: str = ""
    public_url: str = ""
    workers: int = 1
    rate_limit_per_second: float = 0.0
    access_log: bool = True
    insecure_cookies: bool = False
    airflow_url: str = ""  # hitflow's Airflow UI ([api] base_url): the console links batch reports there

    @property
    def secure_cookies(self) -> bool:
        """Whether session cookies carry ``Secure``: always with an https public URL, and in
        production unless the operator opted out (``HITFLOW_HIT_SERVICE_INSECURE_COOKIES``)."""
        if self.public_url.startswith("https://"):
            return True
        return self.mode == "production" and not self.insecure_cookies

    @property
    def base_url(self) -> str:
        """The URL workers' browsers reach the service at (``turkSubmitTo``)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``HITFLOW_HIT_SERVICE_*``, ``HITFLOW_LAYOUTS_DIR``, ``HITFLOW_AIRFLOW_URL``; fail loudly."""
        env = _with_file(os.environ if environ is None else environ)
        db_url = env.get("HITFLOW_HIT_SERVICE_DB_URL", "").strip()
        if not db_url:
            raise SettingsError("HITFLOW_HIT_SERVICE_DB_URL is required (a postgresql:// URL)")
        if not db_url.startswith(("postgresql://", "postgres://")):
            raise SettingsError("HITFLOW_HIT_SERVICE_DB_URL must be a postgresql:// URL")
        balance_text = env.get("HITFLOW_HIT_SERVICE_INITIAL_BALANCE", "10000.00").strip()
        if not is_money(balance_text):
            raise SettingsError("HITFLOW_HIT_SERVICE_INITIAL_BALANCE must look like 10000.00")
        try:
            balance = cents(Decimal(balance_text))
        except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
            raise SettingsError("HITFLOW_HIT_SERVICE_INITIAL_BALANCE is not a number") from exc
        layouts = env.get("HITFLOW_LAYOUTS_DIR", "").strip()
        mode = env.get("HITFLOW_HIT_SERVICE_MODE", "local").strip().lower() or "local"
        if mode not in MODES:
            raise SettingsError(f"HITFLOW_HIT_SERVICE_MODE must be one of {', '.join(MODES)}, got {mode!r}")
        test_mode = env.get("HITFLOW_HIT_SERVICE_TEST_MODE", "").strip().lower() in _TRUE
        latency_ms = _int(env, "HITFLOW_HIT_SERVICE_LATENCY_MS", 0, 0, 600_000)
        rate_limit = _float(env, "HITFLOW_HIT_SERVICE_RATE_LIMIT_PER_SECOND", 0.0, 0.0, 1_000_000.0)
        if mode == "production":
            if test_mode:
                raise SettingsError(
                    "HITFLOW_HIT_SERVICE_TEST_MODE cannot be on in production mode "
                    "(HITFLOW_HIT_SERVICE_MODE=production): test endpoints and fault injection are refused"
                )
            if latency_ms or rate_limit:
                raise SettingsError(
                    "fault injection (HITFLOW_HIT_SERVICE_LATENCY_MS, HITFLOW_HIT_SERVICE_RATE_LIMIT_PER_SECOND) "
                    "cannot be set in production mode"
                )
        public_url = env.get("HITFLOW_HIT_SERVICE_PUBLIC_URL", "").strip()
        if public_url and not public_url.startswith(("http://", "https://")):
            raise SettingsError("HITFLOW_HIT_SERVICE_PUBLIC_URL must start with http:// or https://")
        insecure_cookies = env.get("HITFLOW_HIT_SERVICE_INSECURE_COOKIES", "").strip().lower() in _TRUE
        if mode == "production" and not public_url.startswith("https://") and not insecure_cookies:
            raise SettingsError(
                "production mode needs an https HITFLOW_HIT_SERVICE_PUBLIC_URL (the address workers use, "
                "behind your TLS proxy) so session cookies are sent only over TLS; set "
                "HITFLOW_HIT_SERVICE_INSECURE_COOKIES=1 to run without (cookies then lack Secure)"
            )
        airflow_url = env.get("HITFLOW_AIRFLOW_URL", "").strip()
        if airflow_url and not airflow_url.startswith(("http://", "https://")):
            raise SettingsError("HITFLOW_AIRFLOW_URL must start with http:// or https:// (Airflow's [api] base_url)")
        return cls(
            db_url=db_url,
            host=env.get("HITFLOW_HIT_SERVICE_HOST", "127.0.0.1").strip() or "127.0.0.1",
            port=_int(env, "HITFLOW_HIT_SERVICE_PORT", 8100, 0, 65535),
            test_mode=test_mode,
            layouts_dir=Path(layouts) if layouts else DEFAULT_LAYOUTS_DIR,
            initial_balance=balance,
            latency_ms=latency_ms,
            db_pool_max=_int(env, "HITFLOW_HIT_SERVICE_DB_POOL_MAX", 10, 1, 1000),
            mode=mode,
            requester_keys=parse_requester_keys(env.get("HITFLOW_HIT_SERVICE_REQUESTER_KEYS", "")),
            operator_password=env.get("HITFLOW_HIT_SERVICE_OPERATOR_PASSWORD", ""),
            public_url=public_url,
            workers=_int(env, "HITFLOW_HIT_SERVICE_WORKERS", 1, 1, 64),
            rate_limit_per_second=rate_limit,
            access_log=env.get("HITFLOW_HIT_SERVICE_ACCESS_LOG", "1").strip().lower() in _TRUE,
            insecure_cookies=insecure_cookies,
            airflow_url=airflow_url,
        )


def parse_requester_keys(text: str) -> tuple[tuple[str, str], ...]:
    """``AKID:SECRET[,AKID:SECRET…]`` as pairs; a malformed entry is an error (never echoed)."""
    pairs: list[tuple[str, str]] = []
    for index, entry in enumerate(part.strip() for part in text.split(",")):
        if not entry:
            continue
        access_key, sep, secret = entry.partition(":")
        if not sep or not ACCESS_KEY_RE.match(access_key) or not SECRET_KEY_RE.match(secret):
            # The entry holds a secret: say where it is, not what it is.
            raise SettingsError(
                f"HITFLOW_HIT_SERVICE_REQUESTER_KEYS entry {index + 1} must be ACCESS_KEY_ID:SECRET "
                "(ID 16-128 upper-case letters/digits, secret 16-128 printable characters without spaces)"
            )
        pairs.append((access_key, secret))
    return tuple(pairs)


def _with_file(env: Mapping[str, str]) -> Mapping[str, str]:
    """``env`` over the ``NAME=value`` lines of ``HITFLOW_HIT_SERVICE_CONFIG`` (if set)."""
    path = env.get("HITFLOW_HIT_SERVICE_CONFIG", "").strip()
    if not path:
        return env
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"HITFLOW_HIT_SERVICE_CONFIG: cannot read {path}: {exc.strerror}") from exc
    merged: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name.startswith("HITFLOW_"):
            raise SettingsError(f"{path}:{number}: expected HITFLOW_NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        merged[name] = value
    merged.update(env)
    return merged


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    """A number setting within [low, high], or ``default`` when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g}, got {value:g}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer setting within [low, high], or ``default`` when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value
