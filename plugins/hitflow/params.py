"""Typed DAG params from one spec: the trigger form's ``Param`` objects and the in-run check.

A spec maps each param name to a JSON-schema fragment plus ``default``, ``title``,
``description`` and (for a ``pattern``) ``rule``. Airflow validates the trigger form, REST
triggers and backfill confs against it on the server; :func:`check_params` validates again
inside the run, because scheduled runs and ``dag.test()`` skip those checks.

Two things about Airflow 3.3's Trigger form shape the schema (seen in its UI, 2026-12-02):

* Its number field hands the schema's top-level ``minimum``/``maximum`` to a number input that
  **clamps** on blur (0 became 1, 5000 became 1000), and its text field hands ``maxLength`` to
  the browser, which cuts what is pasted. A typed value must be kept or refused, never
  replaced, so every limit goes into ``allOf``: the form does not look there, the server's
  jsonschema does, and refuses with its own message ("0 is less than the minimum of 1").
* JSON Schema has no keyword for a custom message (``errorMessage`` is an ajv extension) and
  jsonschema's message for a ``pattern`` is the regular expression. So a param with a pattern
  also gets ``if: {not: {pattern}}, then: {enum: [<rule>]}``: jsonschema reports that branch,
  and the message reads as what is wrong with the value: "'0.00' is not one of ['an amount in
  USD …']". The ``pattern`` stays, so the rule's text can never pass as a value.
"""

from __future__ import annotations

from typing import Any

_NOT_SCHEMA = ("default", "description", "rule")
# Limits the form would enforce by changing the value; checked by the server only (see above).
# (``pattern`` stays where it is: the form ignores it, and jsonschema reports the ``then`` first.)
_SERVER_LIMITS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength")


class ConfigError(ValueError):
    """A parameter value that cannot be used; the message names every bad parameter."""


def schema_of(spec: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of one param (``title`` kept: Airflow's form shows it; no ``description``,
    which ``Param`` takes as its own argument)."""
    schema = {k: v for k, v in spec.items() if k not in (*_NOT_SCHEMA, *_SERVER_LIMITS)}
    limits = {k: spec[k] for k in _SERVER_LIMITS if k in spec}
    if limits:
        schema["allOf"] = [limits]
    if "pattern" in spec:
        rule = spec.get("rule", spec.get("description", ""))
        schema |= {"if": {"not": {"pattern": spec["pattern"]}}, "then": {"enum": [rule]}}
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
