"""The ceiling before any database: a FastAPI app answering CreateHITWithHITType from memory.

    .venv/bin/python -m uvicorn scripts.minimal_endpoint:app --workers 2 --port 8199

``make bench`` (section ``service``) drives it with the same signed boto3 load as the HIT
service, so the service's calls/s can be read as a share of what this machine, uvicorn and the
clients allow at all. It parses the JSON body and answers a fixed HIT; it checks no signature
and stores nothing. Other operations answer an empty object (GetAccountBalance's fields are
optional), enough for the bench's warm-up calls.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request, Response

CONTENT_TYPE = "application/x-amz-json-1.1"


def _hit(params: dict[str, Any]) -> dict[str, Any]:
    now = time.time()
    return {
        "HIT": {
            "HITId": uuid.uuid4().hex[:30].upper(),
            "HITTypeId": params.get("HITTypeId", ""),
            "HITGroupId": "G" * 30,
            "CreationTime": now,
            "Title": "Benchmark",
            "Description": "Benchmark",
            "Question": params.get("Question", ""),
            "HITStatus": "Assignable",
            "MaxAssignments": 1,
            "Reward": "0.01",
            "Expiration": now + params.get("LifetimeInSeconds", 3600),
            "AssignmentDurationInSeconds": 600,
            "NumberOfAssignmentsPending": 0,
            "NumberOfAssignmentsAvailable": 1,
            "NumberOfAssignmentsCompleted": 0,
        }
    }


app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.post("/")
async def api(request: Request) -> Response:
    """One API call: the HIT for CreateHITWithHITType, a HIT type ID for CreateHITType, else ``{}``."""
    target = request.headers.get("x-amz-target", "")
    params = json.loads(await request.body() or b"{}")
    result: dict[str, Any] = {}
    if target.endswith(".CreateHITWithHITType"):
        result = _hit(params)
    elif target.endswith(".CreateHITType"):
        result = {"HITTypeId": "T" * 30}
    return Response(json.dumps(result), media_type=CONTENT_TYPE)
