"""Typed DAG params from one spec: the trigger form's ``Param`` objects and the in-run check.

A spec maps each param name to a JSON-schema fragment plus ``default``, ``title`` and
``description``. Airflow validates the trigger form, REST triggers and backfill confs against
it on the server; :func:`check_params` validates again inside the run, because scheduled runs
and ``dag.test()`` skip those checks.

Airflow 3.3 answers a refused value with jsonschema's own message, and JSON Schema has no
keyword for a custom error message (``errorMessage`` is an ajv extension; Airflow's form does
no client-side schema check). For a ``pattern`` that message is the regular expression, which
tells a user nothing. So every param with a pattern gets ``if: {not: {pattern}}, then:
{const: <its description>}``: jsonschema reports that branch first, and the message becomes
"'<description>' was expected". The ``pattern`` itself stays, so the description text can never
pass as a value.
"""

from __future__ import annotations

from typing import Any

_NOT_SCHEMA = ("default",)


class ConfigError(ValueError):
    """A parameter value that cannot be used; the message names every bad parameter."""


def schema_of(spec: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of one param (``title`` kept: Airflow's form shows it; no ``description``,
    which ``Param`` takes as its own argument)."""
    schema = {k: v for k, v in spec.items() if k not in (*_NOT_SCHEMA, "description")}
    if "pattern" in spec:
        schema |= {"if": {"not": {"pattern": spec["pattern"]}}, "then": {"const": spec["description"]}}
    return schema


def dag_params(specs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from airflow.sdk import Param

    return {
        name: Param(spec["default"], description=spec.get("description"), schema=schema_of(spec))
        for name, spec in specs.items()
    }


def check_params(specs: dict[str, dict[str, Any]], params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The known params' values, and a list of problems (``name=value: why``)."""
    import jsonschema  # heavy; only at run time

    known = {name: params[name] for name in specs if name in params}
    problems = []
    for name, value in known.items():
        try:
            jsonschema.validate(value, schema_of(specs[name]))
        except jsonschema.ValidationError as err:
            problems.append(f"{name}={value!r}: {err.message}")
    return known, problems
