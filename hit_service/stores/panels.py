"""Panel links: a HIT group published as a study URL for participant panels (Prolific's form).

The panel sends each participant to ``/panel/<link>?PROLIFIC_PID=…&STUDY_ID=…&SESSION_ID=…``.
The participant gets — or, on a later visit, resumes — a worker account bound to the panel ID
(``worker_profiles.panel_pid``, unique; no password: the account's hash is not an scrypt hash, so
it can never sign in with one), works one HIT of the group, and is sent to the study's completion
URL with ``cc=<code>``. One panel ID is one worker account for good, and one visit row per link,
so the same person cannot take the study's HITs twice under two identities.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hit_service.core.database import Row, Store
from hit_service.core.identity import IdentityError, new_worker_id

PANEL_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
NO_PASSWORD = "panel$no-password"  # never matches: check_password wants an scrypt hash


def completion_target(completion_url: str, code: str) -> str:
    """The completion URL with ``cc=<code>`` (replacing any ``cc`` it carried)."""
    parts = urlsplit(completion_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cc"]
    query.append(("cc", code))
    return urlunsplit(parts._replace(query=urlencode(query)))


class PanelStore:
    """SQL of panel links and participants."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create_link(self, requester: str, hit_group_id: str, completion_url: str, code: str, now: datetime) -> str:
        completion_url = completion_url.strip()
        code = code.strip()
        parts = urlsplit(completion_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise IdentityError("The completion URL must be an http(s) URL.")
        if not CODE_RE.match(code):
            raise IdentityError("The completion code has 1 to 64 letters, digits, dashes or underscores.")
        link_id = "L" + secrets.token_hex(10).upper()
        with self.store.transaction() as conn:
            own = conn.execute(
                "SELECT 1 FROM mturk.hits WHERE hit_group_id = %s AND requester = %s LIMIT 1", (hit_group_id, requester)
            ).fetchone()
            if own is None:
                raise IdentityError(f"No HIT group {hit_group_id} of yours.")
            conn.execute(
                """INSERT INTO mturk.panel_links (link_id, requester, hit_group_id, completion_url, completion_code,
                       created_at) VALUES (%s, %s, %s, %s, %s, %s)""",
                (link_id, requester, hit_group_id, completion_url, code, now),
            )
        return link_id

    def links(self, requester: str) -> list[Row]:
        with self.store.transaction() as conn:
            return conn.execute(
                """SELECT l.*, (SELECT count(*) FROM mturk.panel_visits v WHERE v.link_id = l.link_id) AS visits,
                          (SELECT min(h.title) FROM mturk.hits h WHERE h.hit_group_id = l.hit_group_id) AS title
                   FROM mturk.panel_links l WHERE l.requester = %s ORDER BY l.created_at DESC""",
                (requester,),
            ).fetchall()

    def groups(self, requester: str) -> list[Row]:
        """The requester's HIT groups that are not deleted, newest first (to publish as a link)."""
        with self.store.transaction() as conn:
            return conn.execute(
                """SELECT hit_group_id, min(title) AS title, count(*) AS hits, max(creation_time) AS newest
                   FROM mturk.hits WHERE requester = %s AND status <> 'Disposed'
                   GROUP BY hit_group_id ORDER BY max(creation_time) DESC LIMIT 100""",
                (requester,),
            ).fetchall()

    def study(self, link_id: str) -> Row | None:
        """The link with its HIT group's title and description, for the Start page (reads only)."""
        with self.store.transaction() as conn:
            return conn.execute(
                """SELECT l.link_id, l.hit_group_id, min(h.title) AS title, min(h.description) AS description
                   FROM mturk.panel_links l LEFT JOIN mturk.hits h ON h.hit_group_id = l.hit_group_id
                   WHERE l.link_id = %s GROUP BY l.link_id, l.hit_group_id""",
                (link_id,),
            ).fetchone()

    def link(self, link_id: str) -> Row | None:
        with self.store.transaction() as conn:
            return conn.execute("SELECT * FROM mturk.panel_links WHERE link_id = %s", (link_id,)).fetchone()

    def arrive(self, link_id: str, panel_pid: str, study_id: str, session_id: str, now: datetime) -> tuple[Row, Row]:
        """The participant's worker row and visit row (made on the first arrival, kept after)."""
        if not PANEL_ID_RE.match(panel_pid):
            raise IdentityError("The link lacks a valid participant ID (PROLIFIC_PID).")
        with self.store.transaction() as conn:
            link = conn.execute("SELECT * FROM mturk.panel_links WHERE link_id = %s", (link_id,)).fetchone()
            if link is None:
                raise IdentityError("This study link is not valid.")
            # One account per panel ID, even when two first arrivals race (the unique index decides).
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('panel:' || %s))", (panel_pid,))
            worker = conn.execute(
                """SELECT w.* FROM mturk.workers w JOIN mturk.worker_profiles p USING (worker_id)
                   WHERE p.panel_pid = %s""",
                (panel_pid,),
            ).fetchone()
            if worker is None:
                worker_id = new_worker_id()
                name = "panel-" + hashlib.sha256(panel_pid.encode()).hexdigest()[:12]
                conn.execute(
                    """INSERT INTO mturk.workers (worker_id, name, password_hash, locale_country, created_at)
                       VALUES (%s, %s, %s, 'US', %s)""",
                    (worker_id, name, NO_PASSWORD, now),
                )
                conn.execute(
                    "INSERT INTO mturk.worker_profiles (worker_id, joined_by, panel_pid) VALUES (%s, 'panel', %s)",
                    (worker_id, panel_pid),
                )
                worker = conn.execute("SELECT * FROM mturk.workers WHERE worker_id = %s", (worker_id,)).fetchone()
            assert worker is not None
            conn.execute(
                """INSERT INTO mturk.panel_visits (link_id, panel_pid, worker_id, study_id, session_id, created_at)
                   VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (link_id, panel_pid) DO NOTHING""",
                (link_id, panel_pid, worker["worker_id"], study_id[:64], session_id[:64], now),
            )
            visit = conn.execute(
                """SELECT v.*, x.status AS assignment_status FROM mturk.panel_visits v
                   LEFT JOIN mturk.assignments x ON x.assignment_id = v.assignment_id
                   WHERE v.link_id = %s AND v.panel_pid = %s""",
                (link_id, panel_pid),
            ).fetchone()
        assert visit is not None
        return worker, {**visit, "link": link}

    def record_assignment(self, link_id: str, panel_pid: str, assignment_id: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE mturk.panel_visits SET assignment_id = %s WHERE link_id = %s AND panel_pid = %s",
                (assignment_id, link_id, panel_pid),
            )

    def completion_for(self, assignment_id: str) -> str | None:
        """Where a panel participant goes once this assignment is submitted (None: not a panel visit)."""
        with self.store.transaction() as conn:
            row = conn.execute(
                """SELECT l.completion_url, l.completion_code FROM mturk.panel_visits v
                   JOIN mturk.panel_links l USING (link_id) WHERE v.assignment_id = %s""",
                (assignment_id,),
            ).fetchone()
        return None if row is None else completion_target(row["completion_url"], row["completion_code"])
