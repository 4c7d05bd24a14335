"""MTurkHook: the thin hook over boto3's ``mturk`` client (calls over HTTP are in tests/integration)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hitflow.hooks import mturk


@pytest.fixture
def connection(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {"endpoint_url": "http://127.0.0.1:9"}  # never called: these tests only build clients
    conn = {"conn_type": "aws", "login": "AKIAHOOKTEST00000000", "password": "hook-test-secret", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_MTURK_DEFAULT", json.dumps(conn))


def test_hook_builds_an_mturk_client_for_the_connection_endpoint(connection: None) -> None:
    client = mturk.MTurkHook().conn
    assert client.meta.service_model.service_name == "mturk"
    assert client.meta.service_model.api_version == "2017-01-17"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.region_name == "us-east-1"


def test_hooks_of_one_process_share_botocore_data_but_not_sessions(connection: None) -> None:
    first, second = mturk.MTurkHook(), mturk.MTurkHook()
    session_a, session_b = first.get_session(), second.get_session()
    assert session_a is not session_b
    assert session_a._session is not session_b._session
    loader = session_a._session.get_component("data_loader")
    assert session_b._session.get_component("data_loader") is loader
    assert first.conn is not second.conn  # each hook keeps its own client (credentials, config)


def test_sessions_that_are_not_boto3_are_left_alone() -> None:
    class AioLikeSession:
        pass

    session: Any = AioLikeSession()
    assert mturk._share_data_loader(session) is session


def test_publish_clients_leave_request_checks_to_the_service(connection: None) -> None:
    from botocore.exceptions import EndpointConnectionError, ParamValidationError

    from hitflow.connections import mturk_hook

    checked, unchecked = mturk_hook().conn, mturk_hook(64, validate_parameters=False).conn
    bad = {"HITTypeId": 123, "LifetimeInSeconds": "soon"}  # wrong types: botocore's check refuses them
    with pytest.raises(ParamValidationError):
        checked.create_hit_with_hit_type(**bad)
    with pytest.raises(EndpointConnectionError):  # sent as-is: the service would answer with its error
        unchecked.create_hit_with_hit_type(**bad)
    assert unchecked.meta.config.max_pool_connections == 64
    assert unchecked.meta.config.retries["total_max_attempts"] == 1  # retries are hitflow's own
