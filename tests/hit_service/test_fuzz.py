"""The API fuzzer's bounded run (``tests/hit_service/fuzz.py``): all 39 operations, both modes.

About 25 well-formed and 25 broken requests per operation (~1,900 in all, signed, through the
real HTTP server). ``make fuzz`` runs the same properties with many more examples.
"""

from __future__ import annotations

from typing import Any

import pytest

from hit_service.api.validation import operation_names
from tests.hit_service.fuzz import Known, Sender, property_for, seed
from tests.hit_service.helpers import SECRET_KEY, new_access_key

pytestmark = pytest.mark.integration
EXAMPLES = 25


@pytest.fixture(scope="module")
def fuzzing(service: Any) -> Any:
    access_key = new_access_key()
    known = seed(service.url, access_key, SECRET_KEY)
    sender = Sender(service.url, access_key, SECRET_KEY)
    yield sender, known
    sender.close()


def test_the_model_has_39_operations() -> None:
    assert len(operation_names()) == 39


@pytest.mark.parametrize("mode", ["valid", "broken"])
@pytest.mark.parametrize("operation", operation_names())
def test_fuzz(fuzzing: tuple[Sender, Known], operation: str, mode: str) -> None:
    sender, known = fuzzing
    before = sender.tried[operation]
    property_for(operation, mode, sender, known, EXAMPLES)()
    assert sender.tried[operation] > before  # the examples were really sent (GetAccountBalance has one)
