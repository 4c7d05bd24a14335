"""The SQL of qualification tests taken on the worker site: attempts, scoring grants, requests
with answers, and why a test cannot be taken now (rules in ``hit_service/workforce/qualtests.py``)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from hit_service.core import question_xml
from hit_service.core.database import Row, Store
from hit_service.core.quals import Qualifications
from hit_service.workforce.qualtests import TestRefused, answers_xml, score


class QualTests:
    """Starting, handing in and explaining qualification tests."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _type(conn: Any, type_id: str) -> Row:
        row = conn.execute(
            "SELECT * FROM mturk.qualification_types WHERE qualification_type_id = %s AND NOT deleted", (type_id,)
        ).fetchone()
        if row is None or row["status"] != "Active" or not row["test"]:
            raise TestRefused("This qualification has no test you can take.")
        return row

    @staticmethod
    def _retry_wait(conn: Any, type_row: Row, worker_id: str, now: datetime) -> str:
        """Why the worker cannot take the test now ('' when they can)."""
        type_id = type_row["qualification_type_id"]
        held = conn.execute(
            "SELECT status FROM mturk.qualifications WHERE qualification_type_id = %s AND worker_id = %s",
            (type_id, worker_id),
        ).fetchone()
        last_request = conn.execute(
            """SELECT status, coalesce(decided_at, submit_time) AS at FROM mturk.qualification_requests
               WHERE qualification_type_id = %s AND worker_id = %s ORDER BY submit_time DESC LIMIT 1""",
            (type_id, worker_id),
        ).fetchone()
        if last_request is not None and last_request["status"] == "Pending":
            return "Your answers are waiting for the requester."
        last_test = conn.execute(
            """SELECT submitted_at FROM mturk.qualification_tests WHERE qualification_type_id = %s AND worker_id = %s
               AND submitted_at IS NOT NULL ORDER BY submitted_at DESC LIMIT 1""",
            (type_id, worker_id),
        ).fetchone()
        tried = [r["at"] for r in (last_request,) if r is not None and r["status"] == "Rejected"]
        tried += [r["submitted_at"] for r in (last_test,) if r is not None]
        if held is not None and held["status"] == "Granted" and not tried:
            return "You already have this qualification."
        if not tried:
            return ""
        delay = type_row["retry_delay_seconds"]
        if delay is None:
            return "This test cannot be retaken (the requester set no retry delay)."
        ready = max(tried) + timedelta(seconds=int(delay))
        if now < ready:
            return f"You can retake this test after {ready:%Y-%m-%d %H:%M} UTC."
        return ""

    def selection_fields(self, type_id: str) -> set[str]:
        """The test's questions answered by selection (their answers are SelectionIdentifiers)."""
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT test FROM mturk.qualification_types WHERE qualification_type_id = %s", (type_id,)
            ).fetchone()
        if not row or not row["test"]:
            return set()
        form = question_xml.question_form(row["test"])
        return {q.ident for q in form.questions if q.answer in question_xml.SELECTION_KINDS}

    def has_test(self, type_id: str) -> bool:
        """Whether the type is decided by its Test (taken on the site, not requested bare)."""
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT test FROM mturk.qualification_types WHERE qualification_type_id = %s AND NOT deleted",
                (type_id,),
            ).fetchone()
        return bool(row and row["test"])

    def start(self, worker_id: str, type_id: str, now: datetime) -> tuple[Row, Row]:
        """(type, attempt): the running attempt, or a new one with its deadline."""
        with self.store.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('qualtest:' || %s || %s))", (worker_id, type_id))
            type_row = self._type(conn, type_id)
            running = conn.execute(
                """SELECT * FROM mturk.qualification_tests WHERE qualification_type_id = %s AND worker_id = %s
                   AND submitted_at IS NULL AND deadline > %s ORDER BY started_at DESC LIMIT 1""",
                (type_id, worker_id, now),
            ).fetchone()
            if running is not None:
                return type_row, running
            why = self._retry_wait(conn, type_row, worker_id, now)
            if why:
                raise TestRefused(why)
            attempt = conn.execute(
                """INSERT INTO mturk.qualification_tests (attempt_id, qualification_type_id, worker_id, started_at,
                       deadline) VALUES (%s, %s, %s, %s, %s) RETURNING *""",
                (
                    secrets.token_hex(12),
                    type_id,
                    worker_id,
                    now,
                    now + timedelta(seconds=int(type_row["test_duration_seconds"] or 3600)),
                ),
            ).fetchone()
        assert attempt is not None
        return type_row, attempt

    def hand_in(
        self, worker_id: str, attempt_id: str, fields: list[tuple[str, str]], selections: set[str], now: datetime
    ) -> tuple[str, int | None]:
        """Score (with an AnswerKey) or send to the requester; ('granted', value) or ('sent', None)."""
        with self.store.transaction() as conn:
            attempt = conn.execute(
                "SELECT * FROM mturk.qualification_tests WHERE attempt_id = %s AND worker_id = %s FOR UPDATE",
                (attempt_id, worker_id),
            ).fetchone()
            if attempt is None or attempt["submitted_at"] is not None:
                raise TestRefused("This test was already handed in.")
            type_row = self._type(conn, attempt["qualification_type_id"])
            if now > attempt["deadline"]:
                conn.execute(
                    "UPDATE mturk.qualification_tests SET submitted_at = %s WHERE attempt_id = %s", (now, attempt_id)
                )
                return "late", None
            answer = answers_xml(fields, selections)
            if type_row["answer_key"]:
                answers: dict[str, list[str]] = {}
                for key, value in fields:
                    answers.setdefault(key, []).append(value)
                granted = score(type_row["answer_key"], answers)
                # The API's own grant (a revoked one is replaced).
                Qualifications._grant(conn, type_row["qualification_type_id"], worker_id, granted, now)
                conn.execute(
                    "UPDATE mturk.qualification_tests SET submitted_at = %s, score = %s WHERE attempt_id = %s",
                    (now, granted, attempt_id),
                )
                return "granted", granted
            conn.execute(
                """INSERT INTO mturk.qualification_requests (qualification_request_id, qualification_type_id,
                       requester, worker_id, test, answer, status, submit_time)
                   VALUES (%s, %s, %s, %s, %s, %s, 'Pending', %s)""",
                (
                    "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(30)),
                    type_row["qualification_type_id"],
                    type_row["requester"],
                    worker_id,
                    type_row["test"],
                    answer,
                    now,
                ),
            )
            conn.execute(
                "UPDATE mturk.qualification_tests SET submitted_at = %s WHERE attempt_id = %s", (now, attempt_id)
            )
        return "sent", None

    def standing(self, worker_id: str, type_ids: list[str], now: datetime) -> dict[str, str]:
        """For the Qualifications page: why each test type cannot be taken now ('' when it can)."""
        result: dict[str, str] = {}
        with self.store.transaction() as conn:
            for type_id in type_ids:
                try:
                    result[type_id] = self._retry_wait(conn, self._type(conn, type_id), worker_id, now)
                except TestRefused as refused:
                    result[type_id] = refused.message
        return result
