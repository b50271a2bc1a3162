"""Schemathesis against the check API's own OpenAPI spec: whatever it generates for each operation,
with a token that holds every scope, no answer is a 5xx (ASGI in process, fakes for the broker)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.unit.test_checks_api import make


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    client, service, _, _ = make(tmp_path_factory.mktemp("schemathesis"))
    everything = service.tokens.create("PLATFORM", ["check", "object", "admin", "read_personal"], "all")[1]
    return schemathesis.openapi.from_asgi("/openapi.json", client.app), everything


def test_no_generated_request_gets_a_server_error(api):
    schema, token = api
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            assert response.status_code < 500, (operation.label, case.path_parameters, case.body, response.text)
            if response.status_code >= 400:
                assert "application/problem+json" in str(response.headers.get("content-type")), operation.label
        no_server_error()
