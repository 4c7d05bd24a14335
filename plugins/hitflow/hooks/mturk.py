"""Amazon Mechanical Turk hook (requester API 2017-01-17).

The Amazon provider has no MTurk hook, so this is the thin one it would have: the AWS
connection (``mturk_default``) picks credentials and, through ``endpoint_url`` in its extra,
the target — hitflow's own HIT service, or any MTurk-compatible endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook


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
