"""Reading the console's HTML forms into the values the backend takes (and back, for re-display)."""

from __future__ import annotations

from typing import Any

from hit_service.console.service import FormError
from hit_service.core.requirements import LOCALE

UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
COMPARATORS = [
    "GreaterThanOrEqualTo",
    "GreaterThan",
    "LessThanOrEqualTo",
    "LessThan",
    "EqualTo",
    "NotEqualTo",
    "In",
    "NotIn",
    "Exists",
    "DoesNotExist",
]
ACTIONS = ["Accept", "PreviewAndAccept", "DiscoverPreviewAndAccept"]
REQUIREMENT_ROWS = 4
DURATIONS = ("assignment_duration", "lifetime", "auto_approval_delay")
FORM_FIELDS = (
    "name",
    "title",
    "description",
    "keywords",
    "reward",
    "max_assignments",
    *DURATIONS,
    "template",
    "sample_values",
)


def split_duration(seconds: int) -> tuple[int, str]:
    """The largest unit that divides ``seconds`` evenly: 3600 → (1, "hours")."""
    for unit in ("days", "hours", "minutes"):
        if seconds and seconds % UNITS[unit] == 0:
            return seconds // UNITS[unit], unit
    return seconds, "seconds"


def _int(fields: dict[str, str], name: str, label: str) -> int:
    text = fields.get(name, "").strip()
    try:
        return int(text)
    except ValueError:
        raise FormError(f"{label} must be a whole number (got “{text}”).") from None


def _duration(fields: dict[str, str], name: str, label: str) -> int:
    unit = fields.get(f"{name}_unit", "seconds")
    if unit not in UNITS:
        raise FormError(f"{label}: unknown unit “{unit}”.")
    return _int(fields, name, label) * UNITS[unit]


def parse_sample_values(text: str) -> dict[str, str]:
    """``name = value`` lines (one per variable) as a dict."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise FormError(f"Sample values, line {number}: write it as name = value.")
        values[name.strip()] = value.strip()
    return values


def parse_requirements(fields: dict[str, str]) -> list[dict[str, Any]]:
    """The requirement rows of the project form as ``QualificationRequirements``."""
    requirements: list[dict[str, Any]] = []
    for i in range(REQUIREMENT_ROWS):
        type_id = fields.get(f"q{i}_type", "").strip()
        if not type_id:
            continue
        comparator = fields.get(f"q{i}_comparator", "")
        if comparator not in COMPARATORS:
            raise FormError(f"Requirement {i + 1}: choose a comparison.")
        action = fields.get(f"q{i}_action", "Accept")
        if action not in ACTIONS:
            raise FormError(f"Requirement {i + 1}: unknown action “{action}”.")
        raw = [v.strip() for v in fields.get(f"q{i}_values", "").split(",") if v.strip()]
        requirement: dict[str, Any] = {
            "QualificationTypeId": type_id,
            "Comparator": comparator,
            "ActionsGuarded": action,
        }
        if comparator not in ("Exists", "DoesNotExist"):
            if not raw:
                raise FormError(f"Requirement {i + 1}: give a value (several separated by commas for In/NotIn).")
            if type_id == LOCALE:
                locales = []
                for value in raw:
                    country, _, subdivision = value.upper().partition("-")
                    locale = {"Country": country}
                    if subdivision:
                        locale["Subdivision"] = subdivision
                    locales.append(locale)
                requirement["LocaleValues"] = locales
            else:
                try:
                    requirement["IntegerValues"] = [int(v) for v in raw]
                except ValueError:
                    raise FormError(
                        f"Requirement {i + 1}: values must be whole numbers (or countries for Locale)."
                    ) from None
        requirements.append(requirement)
    return requirements


def requirement_rows(requirements: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Stored requirements as form rows (always ``REQUIREMENT_ROWS`` of them)."""
    rows = []
    for requirement in requirements[:REQUIREMENT_ROWS]:
        if requirement.get("LocaleValues"):
            values = ", ".join(
                loc["Country"] + (f"-{loc['Subdivision']}" if loc.get("Subdivision") else "")
                for loc in requirement["LocaleValues"]
            )
        else:
            values = ", ".join(str(v) for v in requirement.get("IntegerValues") or [])
        action = requirement.get("ActionsGuarded") or (
            "PreviewAndAccept" if requirement.get("RequiredToPreview") else "Accept"
        )
        rows.append(
            {
                "type": requirement["QualificationTypeId"],
                "comparator": requirement["Comparator"],
                "values": values,
                "action": action,
            }
        )
    while len(rows) < REQUIREMENT_ROWS:
        rows.append({"type": "", "comparator": "GreaterThanOrEqualTo", "values": "", "action": "Accept"})
    return rows


def project_values(fields: dict[str, str]) -> dict[str, Any]:
    """The project form as ``Console.save_project`` values; FormError on the first problem."""
    return {
        "name": fields.get("name", ""),
        "title": fields.get("title", "").strip(),
        "description": fields.get("description", "").strip(),
        "keywords": fields.get("keywords", "").strip(),
        "reward": fields.get("reward", "").strip().lstrip("$"),
        "max_assignments": _int(fields, "max_assignments", "Assignments per HIT"),
        "assignment_duration_seconds": _duration(fields, "assignment_duration", "Time allotted per assignment"),
        "lifetime_seconds": _duration(fields, "lifetime", "HIT lifetime"),
        "auto_approval_delay_seconds": _duration(fields, "auto_approval_delay", "Auto-approval delay"),
        "qualification_requirements": parse_requirements(fields),
        "template": fields.get("template", "").replace("\r\n", "\n"),
        "sample_values": parse_sample_values(fields.get("sample_values", "")),
    }


def project_form(project: dict[str, Any]) -> dict[str, Any]:
    """A stored project (or a starter) as the values the form shows."""
    duration = split_duration(int(project["assignment_duration_seconds"]))
    lifetime = split_duration(int(project["lifetime_seconds"]))
    auto = split_duration(int(project["auto_approval_delay_seconds"]))
    return {
        "name": project["name"],
        "title": project["title"],
        "description": project["description"],
        "keywords": project.get("keywords") or "",
        "reward": str(project["reward"]),
        "max_assignments": project["max_assignments"],
        "assignment_duration": duration[0],
        "assignment_duration_unit": duration[1],
        "lifetime": lifetime[0],
        "lifetime_unit": lifetime[1],
        "auto_approval_delay": auto[0],
        "auto_approval_delay_unit": auto[1],
        "requirements": requirement_rows(project.get("qualification_requirements") or []),
        "template": project["template"],
        "sample_values": "\n".join(f"{k} = {v}" for k, v in (project.get("sample_values") or {}).items()),
    }


def raw_form(fields: dict[str, str]) -> dict[str, Any]:
    """What the user typed, to show again beside an error (nothing is lost); absent fields empty."""
    form: dict[str, Any] = {name: "" for name in FORM_FIELDS}
    form.update({f"{name}_unit": "minutes" for name in DURATIONS})
    form.update({k: v for k, v in fields.items() if isinstance(v, str)})
    form["requirements"] = [
        {
            "type": fields.get(f"q{i}_type", ""),
            "comparator": fields.get(f"q{i}_comparator", "GreaterThanOrEqualTo"),
            "values": fields.get(f"q{i}_values", ""),
            "action": fields.get(f"q{i}_action", "Accept"),
        }
        for i in range(REQUIREMENT_ROWS)
    ]
    return form
