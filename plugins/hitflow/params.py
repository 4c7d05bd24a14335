"""Typed DAG params from one spec: the trigger form's ``Param`` objects and the in-run check.

A spec maps each param name to a JSON-schema fragment plus ``default``, ``title`` and
``description``. The UI validates the form against it; :func:`check_params` validates again
inside the run, because scheduled runs, ``dag.test()`` and API callers can bypass the form.
"""

from __future__ import annotations

from typing import Any

_NOT_SCHEMA = ("default",)


class ConfigError(ValueError):
    """A parameter value that cannot be used; the message names every bad parameter."""


def dag_params(specs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from airflow.sdk import Param

    return {
        name: Param(spec["default"], **{k: v for k, v in spec.items() if k not in _NOT_SCHEMA})
        for name, spec in specs.items()
    }


def check_params(specs: dict[str, dict[str, Any]], params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The known params' values, and a list of problems (``name=value: why``)."""
    import jsonschema  # heavy; only at run time

    known = {name: params[name] for name in specs if name in params}
    problems = []
    for name, value in known.items():
        schema = {k: v for k, v in specs[name].items() if k not in (*_NOT_SCHEMA, "title", "description")}
        try:
            jsonschema.validate(value, schema)
        except jsonschema.ValidationError as err:
            problems.append(f"{name}={value!r}: {err.message}")
    return known, problems
