"""Amazon Mechanical Turk hook (requester API 2017-01-17).

The Amazon provider has no MTurk hook, so this is the thin one it would have: the AWS
connection (``mturk_default``) picks credentials and, through ``endpoint_url`` in its extra,
the target — hitflow's own HIT service, or any MTurk-compatible endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

_shared_loader: Any = None


def _share_data_loader(session: Any) -> Any:
    """Give ``session`` the data loader of the first session this process made.

    Every hook builds a new boto3 session, and each session would parse botocore's endpoint
    and service JSON again (~0.1 s of CPU per client, paid by every mapped task in a process).
    The loader only reads files shipped with botocore and caches what it parsed, so one per
    process is safe; credentials, config and clients stay per session.
    """
    global _shared_loader
    botocore_session = getattr(session, "_session", None)
    if botocore_session is None:  # not a boto3 session (e.g. aiobotocore's): leave it alone
        return session
    if _shared_loader is None:
        _shared_loader = botocore_session.get_component("data_loader")
    else:
        botocore_session.register_component("data_loader", _shared_loader)
    return session


class MTurkHook(AwsBaseHook):
    """Interact with MTurk through boto3's ``mturk`` client; one method per API call.

    :param aws_conn_id: The Airflow connection used for AWS credentials and endpoint.
    """

    conn_name_attr = "aws_conn_id"
    default_conn_name = "mturk_default"
    conn_type = "aws"
    hook_name = "Amazon Mechanical Turk"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "mturk"
        kwargs.setdefault("aws_conn_id", self.default_conn_name)
        kwargs.setdefault("region_name", "us-east-1")  # MTurk only ever lived in us-east-1
        super().__init__(*args, **kwargs)

    def get_session(self, region_name: str | None = None, deferrable: bool = False) -> Any:
        """The provider's session, sharing one botocore data loader per process."""
        return _share_data_loader(super().get_session(region_name=region_name, deferrable=deferrable))

    def get_account_balance(self) -> dict[str, Any]:
        """Return the requester's ``AvailableBalance`` (and ``OnHoldBalance`` when present)."""
        return self.conn.get_account_balance()

    def create_hit_type(self, **kwargs: Any) -> str:
        """Create (or find: identical properties give the same ID) a HIT type; return its ID."""
        response = self.conn.create_hit_type(**kwargs)
        self.log.info("HIT type %s for %r", response["HITTypeId"], kwargs.get("Title"))
        return response["HITTypeId"]

    def create_hit(self, **kwargs: Any) -> dict[str, Any]:
        """Create a HIT with its own properties; return the ``HIT`` structure."""
        return self.conn.create_hit(**kwargs)["HIT"]

    def create_hit_with_hit_type(self, **kwargs: Any) -> dict[str, Any]:
        """Create a HIT of an existing HIT type; return the ``HIT`` structure."""
        return self.conn.create_hit_with_hit_type(**kwargs)["HIT"]

    def get_hit(self, hit_id: str) -> dict[str, Any]:
        """Return the ``HIT`` structure of ``hit_id``."""
        return self.conn.get_hit(HITId=hit_id)["HIT"]

    def list_hits(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Yield every HIT of the requester, following ``NextToken``."""
        kwargs: dict[str, Any] = {"MaxResults": page_size}
        while True:
            page = self.conn.list_hits(**kwargs)
            yield from page.get("HITs", [])
            token = page.get("NextToken")
            if not token:
                return
            kwargs["NextToken"] = token

    def list_assignments_for_hit(
        self, hit_id: str, statuses: list[str] | None = None, page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Yield every assignment of ``hit_id`` (optionally only some statuses), following ``NextToken``."""
        kwargs: dict[str, Any] = {"HITId": hit_id, "MaxResults": page_size}
        if statuses:
            kwargs["AssignmentStatuses"] = statuses
        while True:
            page = self.conn.list_assignments_for_hit(**kwargs)
            yield from page.get("Assignments", [])
            token = page.get("NextToken")
            if not token:
                return
            kwargs["NextToken"] = token

    def get_assignment(self, assignment_id: str) -> dict[str, Any]:
        """Return the ``Assignment`` structure of ``assignment_id``."""
        return self.conn.get_assignment(AssignmentId=assignment_id)["Assignment"]

    def approve_assignment(self, assignment_id: str, feedback: str | None = None) -> None:
        kwargs: dict[str, Any] = {"AssignmentId": assignment_id}
        if feedback:
            kwargs["RequesterFeedback"] = feedback
        self.conn.approve_assignment(**kwargs)
        self.log.info("approved assignment %s", assignment_id)

    def reject_assignment(self, assignment_id: str, feedback: str) -> None:
        """Reject a submitted assignment; MTurk requires the feedback the worker will see."""
        self.conn.reject_assignment(AssignmentId=assignment_id, RequesterFeedback=feedback)
        self.log.info("rejected assignment %s", assignment_id)

    def send_bonus(self, *, worker_id: str, assignment_id: str, amount: str, reason: str, token: str) -> None:
        self.conn.send_bonus(
            WorkerId=worker_id, AssignmentId=assignment_id, BonusAmount=amount, Reason=reason, UniqueRequestToken=token
        )
        self.log.info("bonus of %s to worker %s for assignment %s", amount, worker_id, assignment_id)

    def create_additional_assignments_for_hit(self, hit_id: str, count: int, token: str) -> None:
        """Ask for ``count`` more assignments (MTurk refuses to take a HIT from < 10 to ≥ 10)."""
        self.conn.create_additional_assignments_for_hit(
            HITId=hit_id, NumberOfAdditionalAssignments=count, UniqueRequestToken=token
        )
        self.log.info("HIT %s: %s more assignments", hit_id, count)

    def update_expiration_for_hit(self, hit_id: str, expire_at: datetime) -> None:
        """Move a HIT's expiry; a time in the past expires it at once."""
        self.conn.update_expiration_for_hit(HITId=hit_id, ExpireAt=expire_at)

    def delete_hit(self, hit_id: str) -> None:
        self.conn.delete_hit(HITId=hit_id)
        self.log.info("deleted HIT %s", hit_id)

    def create_worker_block(self, worker_id: str, reason: str) -> None:
        self.conn.create_worker_block(WorkerId=worker_id, Reason=reason)
        self.log.info("blocked worker %s", worker_id)

    def list_bonus_payments(self, assignment_id: str) -> list[dict[str, Any]]:
        """Bonuses paid for one assignment."""
        return self.conn.list_bonus_payments(AssignmentId=assignment_id, MaxResults=100).get("BonusPayments", [])
