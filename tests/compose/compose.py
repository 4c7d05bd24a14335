"""docker-compose.yaml as docker compose would see it, without Docker: YAML (anchors and merge
keys) plus compose's variable interpolation from an env file.

Interpolation follows the Compose specification: ``$$`` is a literal ``$``; ``${VAR}`` and
``$VAR``; ``${VAR:-default}`` (unset or empty) and ``${VAR-default}`` (unset);
``${VAR:?message}`` and ``${VAR?message}`` (an error); ``${VAR:+alt}`` and ``${VAR+alt}``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"

_VAR = re.compile(
    r"\$\$"
    r"|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


class InterpolationError(ValueError):
    """A ``${VAR:?message}`` whose variable is missing: compose refuses to start."""


def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"{path.name}: not NAME=value: {line!r}"
        values[name.strip()] = value.strip()
    return values


def variables_used(text: str | None = None) -> set[str]:
    text = COMPOSE_FILE.read_text() if text is None else text
    return {m.group("name") or m.group("bare") for m in _VAR.finditer(text) if m.group(0) != "$$"}


def interpolate_text(text: str, env: Mapping[str, str], errors: list[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        unset, empty = value is None, not value
        if op in (":-", "-"):
            return arg if (empty if op == ":-" else unset) else value  # type: ignore[return-value]
        if op in (":?", "?"):
            if empty if op == ":?" else unset:
                errors.append(f"{name}: {arg}")
                return ""
            return value  # type: ignore[return-value]
        if op in (":+", "+"):
            return "" if (empty if op == ":+" else unset) else arg
        return value or ""

    return _VAR.sub(replace, text)


def interpolate(node: Any, env: Mapping[str, str], errors: list[str]) -> Any:
    if isinstance(node, str):
        return interpolate_text(node, env, errors)
    if isinstance(node, list):
        return [interpolate(item, env, errors) for item in node]
    if isinstance(node, dict):
        return {key: interpolate(value, env, errors) for key, value in node.items()}
    return node


def load(env: Mapping[str, str]) -> dict[str, Any]:
    """The compose model with ``env`` interpolated; raises if a required variable is missing."""
    errors: list[str] = []
    model = interpolate(raw(), env, errors)
    if errors:
        raise InterpolationError("; ".join(errors))
    return model


def filled_env() -> dict[str, str]:
    """.env.example with a made-up value for every required (empty) setting."""
    env = read_env_file()
    fillers = {
        "AIRFLOW_ADMIN_PASSWORD": "admin-pass-e2e",
        "AIRFLOW_FERNET_KEY": "kWS4C0i8t0eOHSn3pmxYVrSXSCU5AycHV0hZ2i0Qh4U=",
        "AIRFLOW_JWT_SECRET": "jwt-secret-for-tests-0123456789",
        "AIRFLOW_API_SECRET_KEY": "api-secret-for-tests-0123456789",
        "AIRFLOW_DB_PASSWORD": "airflowpw",
        "HITFLOW_DB_PASSWORD": "hitflowpw",
        "HITFLOW_REQUESTER_ACCESS_KEY_ID": "AKIACOMPOSETEST00001",
        "HITFLOW_REQUESTER_SECRET_ACCESS_KEY": "composeTestSecret/0123456789abcdefXYZ",
    }
    return env | fillers


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command_argv(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def healthcheck_argv(service: dict[str, Any]) -> list[str]:
    """The health check as argv (``CMD-SHELL`` strings are split like the shell would)."""
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        return shlex.split(test)
    if test[0] == "CMD-SHELL":
        argv = shlex.split(test[1])
        return argv[1:] if argv[0] == "exec" else argv  # `exec cmd …` runs cmd in the shell's place
    assert test[0] == "CMD", f"health check must start with CMD or CMD-SHELL: {test}"
    return list(test[1:])


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """``{container path: source}`` of the service's volumes (short syntax)."""
    result = {}
    for volume in service.get("volumes") or []:
        source, target = volume.split(":")[:2]
        result[target] = source
    return result


def port_targets(service: dict[str, Any]) -> list[int]:
    return [int(str(p).rsplit(":", 1)[-1]) for p in service.get("ports") or []]
