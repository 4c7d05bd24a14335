"""The console's CSV files: the batch input a requester uploads, MTurk's results CSV, the reviewed CSV.

* **Input**: a header row naming the project's ``${variables}``, one row per HIT. Everything is
  checked before anything is created, and every problem is reported with its row number (the
  header is row 0, the first data row is row 1; ``line`` counts physical lines). Comma,
  semicolon or tab separated (the header row tells which); UTF-8 (BOM or not) or UTF-16 with a
  BOM. Other columns are kept with the batch and in the results CSV, as MTurk kept them.
* **Results**: one row per assignment in the column layout of MTurk's "Download CSV"
  (HIT columns, assignment columns, ``Input.<variable>``, ``Answer.<field>``, then empty
  ``Approve`` / ``Reject``), written row by row so a large batch never sits in memory.
* **Reviewed**: the results file back, an ``X`` under ``Approve`` or a reason under ``Reject``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import hitflow_csv
from hit_service.core import layouts, question_xml
from hit_service.limits import MAX_CSV_BYTES, MAX_REVIEW_CSV_BYTES

MAX_ROWS = 50_000
MAX_ERRORS_SHOWN = 200
QUESTION_MAX_BYTES = 65_535

HIT_COLUMNS = [
    "HITId",
    "HITTypeId",
    "Title",
    "Description",
    "Keywords",
    "Reward",
    "CreationTime",
    "MaxAssignments",
    "RequesterAnnotation",
    "AssignmentDurationInSeconds",
    "AutoApprovalDelayInSeconds",
    "Expiration",
    "NumberOfSimilarHITs",
    "LifetimeInSeconds",
]
ASSIGNMENT_COLUMNS = [
    "AssignmentId",
    "WorkerId",
    "AssignmentStatus",
    "AcceptTime",
    "SubmitTime",
    "AutoApprovalTime",
    "ApprovalTime",
    "RejectionTime",
    "RequesterFeedback",
    "WorkTimeInSeconds",
    "LifetimeApprovalRate",
    "Last30DaysApprovalRate",
    "Last7DaysApprovalRate",
]


@dataclass
class RowError:
    """One problem of an uploaded file, where it is."""

    row: int  # 0 = header
    line: int
    message: str


DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass
class CheckedFile:
    """An uploaded input file: its rows (when valid) or its problems."""

    sha256: str
    header: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    more_errors: int = 0
    delimiter: str = ","
    extra: list[str] = field(default_factory=list)  # columns the template does not use: kept, not parameters

    @property
    def delimiter_name(self) -> str:
        return DELIMITERS.get(self.delimiter, repr(self.delimiter))

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, row: int, line: int, message: str) -> None:
        if len(self.errors) < MAX_ERRORS_SHOWN:
            self.errors.append(RowError(row, line, message))
        else:
            self.more_errors += 1


def decode(data: bytes, checked: CheckedFile) -> str | None:
    """The file as text, or None with an error naming the line.

    UTF-8 with or without a BOM, and UTF-16 with its BOM (Excel's "Unicode Text").
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            checked.error(0, 1, "the file starts as UTF-16 text but cannot be read as such (save it as “CSV UTF-8”)")
            return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        checked.error(
            max(line - 1, 0),
            line,
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line} cannot be decoded "
            "(save the file as “CSV UTF-8”)",
        )
        return None


def check_input(data: bytes, template: str, *, too_big: bool = False) -> CheckedFile:
    """Check an uploaded batch file against the project's template; nothing is created here."""
    checked = CheckedFile(sha256=hashlib.sha256(data).hexdigest())
    if too_big:
        checked.error(0, 0, f"the file is larger than the limit of {MAX_CSV_BYTES // (1024 * 1024)} MB")
        return checked
    text = decode(data, checked)
    if text is None:
        return checked
    if not text.strip():
        checked.error(0, 1, "the file is empty: the first row must name the template's variables")
        return checked
    variables = layouts.placeholders(template)
    checked.delimiter = sniff_delimiter(text, variables)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=checked.delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        checked.error(0, 1, f"the header row is not valid CSV: {exc}")
        return checked
    header = [name.strip() for name in header]
    width = len(header)  # spreadsheets often save empty columns after the last one: ignore them
    while len(header) > 1 and not header[-1]:
        header.pop()
    checked.header = header
    seen: set[str] = set()
    for name in header:
        if not name:
            checked.error(0, 1, "the header has an empty column name")
        elif name in seen:
            checked.error(0, 1, f"the header names column “{name}” twice")
        seen.add(name)
    missing = [name for name in variables if name not in seen]
    checked.extra = [name for name in header if name and name not in variables]  # kept with the batch
    if missing:
        found = f" (read as {checked.delimiter_name}-separated; found " + ", ".join(f"“{n}”" for n in header) + ")"
        checked.error(
            0, 1, "missing column(s) " + ", ".join(f"“{n}”" for n in missing) + " (the template uses them)" + found
        )
    row_number = 0
    line = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            row_number += 1
            checked.error(row_number, reader.line_num, f"not valid CSV: {exc}")
            break
        row_number += 1
        start_line, line = line + 1, reader.line_num
        if not values:
            row_number -= 1  # blank lines are skipped, as spreadsheets write them
            continue
        if row_number > MAX_ROWS:
            checked.error(row_number, start_line, f"more than {MAX_ROWS:,} rows; split the file into batches")
            break
        if len(header) < len(values) <= width and not "".join(values[len(header) :]).strip():
            values = values[: len(header)]  # the empty trailing columns
        if len(values) != len(header):
            checked.error(row_number, start_line, f"{len(values)} value(s), but the header has {len(header)} column(s)")
            continue
        values = [hitflow_csv.restore(value) for value in values]  # a file hitflow_csv wrote (the DAG's input.csv)
        row = dict(zip(header, values, strict=True))
        if any("\x00" in value for value in values):
            checked.error(row_number, start_line, "a value holds a NUL character (byte 0x00)")
            continue
        empty = [name for name in variables if name in row and not row[name].strip()]
        if empty:
            checked.error(row_number, start_line, "empty value for " + ", ".join(f"“{n}”" for n in empty))
            continue
        if not checked.errors and not missing:
            size = len(render_question(template, row).encode("utf-8"))
            if size > QUESTION_MAX_BYTES:
                checked.error(
                    row_number, start_line, f"the HIT would be {size:,} bytes; MTurk's limit is {QUESTION_MAX_BYTES:,}"
                )
                continue
        if checked.errors:
            continue  # keep checking rows for their own problems; nothing is kept
        checked.rows.append(row)  # every column, in the file's order: extra ones go to the results CSV
    if not checked.errors and not checked.rows:
        checked.error(0, 1, "the file has a header but no data rows")
    if checked.errors:
        checked.rows = []
    return checked


def sniff_delimiter(text: str, wanted: list[str]) -> str:
    """The delimiter of a CSV file: comma, semicolon (Excel in much of Europe) or tab.

    The header row decides: the candidate that splits it into the most ``wanted`` column names
    wins, then the one giving the most columns; a one-column file is comma-separated.
    """
    first = text.split("\n", 1)[0]
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        try:
            names = [n.strip() for n in next(csv.reader([first], delimiter=delimiter))]
        except (csv.Error, StopIteration):
            continue
        score = (sum(1 for n in wanted if n in names), len(names))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def render_question(template: str, values: dict[str, str]) -> str:
    """The HTMLQuestion a row becomes, as the API would build it from the layout."""
    return question_xml.html_question(layouts.PLACEHOLDER.sub(lambda m: _escape(values.get(m.group(1), "")), template))


def render_page(template: str, values: dict[str, str]) -> str:
    """The HTML page a worker sees for ``values`` (placeholders filled, values escaped)."""
    return layouts.PLACEHOLDER.sub(lambda m: _escape(values.get(m.group(1), "")), template)


def _escape(value: str) -> str:
    import html

    return html.escape(value, quote=True)


# -- answers --------------------------------------------------------------------------------------


def answer_fields(answer_xml: str | None) -> dict[str, str]:
    """``Answer.<field>`` values of one assignment: QuestionFormAnswers, crowd-form flattened."""
    if not answer_xml:
        return {}
    try:
        root = ET.fromstring(answer_xml)
    except ET.ParseError:
        return {"Answer": answer_xml}
    fields: dict[str, str] = {}
    for answer in root:
        if not answer.tag.endswith("Answer"):
            continue
        name = ""
        values: list[str] = []
        for child in answer:
            tag = child.tag.rpartition("}")[2]
            if tag == "QuestionIdentifier":
                name = child.text or ""
            elif tag in ("FreeText", "SelectionIdentifier", "OtherSelectionText"):
                values.append(child.text or "")
        if not name:
            continue
        value = "|".join(values)
        fields[name] = value
        if name == "taskAnswers":
            fields.update(_flatten_task_answers(value))
    return fields


def _flatten_task_answers(value: str) -> dict[str, str]:
    """crowd-form's ``taskAnswers`` (a JSON array of one object) as dotted columns."""
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    out: dict[str, str] = {}

    def walk(prefix: str, item: Any) -> None:
        if isinstance(item, dict) and item:
            for key, sub in item.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(item, bool):
            out[prefix] = "true" if item else "false"
        elif isinstance(item, str | int | float) or item is None:
            out[prefix] = "" if item is None else str(item)
        else:
            out[prefix] = json.dumps(item, separators=(",", ":"))

    if isinstance(data, dict):
        walk("", data)
    return out


# -- results ---------------------------------------------------------------------------------------


def mturk_time(moment: datetime | None) -> str:
    """A time as MTurk's results CSV wrote it: ``Mon Nov 30 15:04:05 UTC 2026``."""
    return "" if moment is None else moment.astimezone(UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def results_header(variables: list[str], answers: list[str]) -> list[str]:
    return [
        *HIT_COLUMNS,
        *ASSIGNMENT_COLUMNS,
        *(f"Input.{name}" for name in variables),
        *(f"Answer.{name}" for name in answers),
        "Approve",
        "Reject",
    ]


def _rate(approved: int, rejected: int) -> str:
    reviewed = approved + rejected
    percent = round(100 * approved / reviewed) if reviewed else 100
    return f"{percent}% ({approved}/{reviewed})"


def results_row(row: dict[str, Any], variables: list[str], answers: list[str], similar: int) -> list[str]:
    """One assignment (or a HIT without one) as a results CSV row."""
    inputs = row.get("values") or {}
    fields = answer_fields(row.get("answer"))
    work = ""
    if row.get("submit_time") and row.get("accept_time"):
        work = str(int((row["submit_time"] - row["accept_time"]).total_seconds()))
    has_assignment = bool(row.get("assignment_id"))
    return [
        row["hit_id"],
        row["hit_type_id"],
        row["title"],
        row["description"],
        row["keywords"] or "",
        "$" + f"{row['reward']:.2f}",
        mturk_time(row["creation_time"]),
        str(row["max_assignments"]),
        row["requester_annotation"] or "",
        str(row["assignment_duration_seconds"]),
        str(row["auto_approval_delay_seconds"]),
        mturk_time(row["expiration"]),
        str(similar),
        str(row["lifetime_seconds"]),
        row.get("assignment_id") or "",
        row.get("worker_id") or "",
        row.get("status") or "",
        mturk_time(row.get("accept_time")),
        mturk_time(row.get("submit_time")),
        mturk_time(row.get("auto_approval_time")),
        mturk_time(row.get("approval_time")),
        mturk_time(row.get("rejection_time")),
        row.get("requester_feedback") or "",
        work,
        _rate(row.get("life_approved") or 0, row.get("life_rejected") or 0) if has_assignment else "",
        _rate(row.get("d30_approved") or 0, row.get("d30_rejected") or 0) if has_assignment else "",
        _rate(row.get("d7_approved") or 0, row.get("d7_rejected") or 0) if has_assignment else "",
        *(str(inputs.get(name, "")) for name in variables),
        *(fields.get(name, "") for name in answers),
        "",
        "",
    ]


def csv_lines(rows: Iterable[list[str]], chunk_bytes: int = 64 * 1024) -> Iterator[bytes]:
    """CSV-encode rows (UTF-8, every field quoted, as MTurk's files were) in chunks of ~64 KB.

    One chunk per row would cost a thread hop and a socket write per row when streamed.
    """
    buffer = io.StringIO()
    writer = hitflow_csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")  # no cell runs as a formula
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= chunk_bytes:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


# -- reviewed file ---------------------------------------------------------------------------------


@dataclass
class Decision:
    """One row of a reviewed results file."""

    row: int
    assignment_id: str
    action: str  # "approve", "reject" or "" (nothing asked)
    feedback: str = ""
    error: str = ""


@dataclass
class ReviewResult:
    """What happened to one row of a reviewed CSV."""

    row: int
    assignment_id: str
    action: str
    outcome: str  # "applied", "skipped" or "failed"
    message: str


def read_review(data: bytes) -> tuple[list[Decision], list[RowError]]:
    """Decisions of a reviewed results CSV; file-level problems as errors (nothing applied then)."""
    checked = CheckedFile(sha256="")
    if len(data) > MAX_REVIEW_CSV_BYTES:
        return [], [RowError(0, 0, f"the file is larger than {MAX_REVIEW_CSV_BYTES // (1024 * 1024)} MB")]
    text = decode(data, checked)
    if text is None:
        return [], checked.errors
    delimiter = sniff_delimiter(text, ["AssignmentId", "Approve", "Reject"])
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        names = reader.fieldnames or []
    except csv.Error as exc:
        return [], [RowError(0, 1, f"the header row is not valid CSV: {exc}")]
    missing = [n for n in ("AssignmentId", "Approve", "Reject") if n not in names]
    if missing:
        return [], [
            RowError(
                0,
                1,
                "missing column(s) " + ", ".join(missing) + ": upload the results CSV you downloaded "
                f"(read as {DELIMITERS[delimiter]}-separated)",
            )
        ]
    decisions: list[Decision] = []
    number = 0
    try:
        for record in reader:
            number += 1
            # A spreadsheet may keep or drop the apostrophe hitflow_csv wrote: both read back the same.
            assignment_id = hitflow_csv.restore((record.get("AssignmentId") or "").strip())
            approve = hitflow_csv.restore((record.get("Approve") or "").strip())
            reject = hitflow_csv.restore((record.get("Reject") or "").strip())
            decision = Decision(number, assignment_id, "")
            if approve and reject:
                decision.error = "both Approve and Reject are filled in; choose one"
            elif approve:
                if approve.upper() != "X":
                    decision.error = f"put an X under Approve (found “{approve}”)"
                else:
                    decision.action = "approve"
            elif reject:
                decision.action, decision.feedback = "reject", reject
            if decision.action and not assignment_id:
                decision.error = "no AssignmentId on this row"
            decisions.append(decision)
    except csv.Error as exc:
        return [], [RowError(number + 1, reader.line_num, f"not valid CSV: {exc}")]
    return decisions, []
