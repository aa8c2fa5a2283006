"""A schemathesis run over the whole OpenAPI schema served at /api/schema/.

Every operation in the schema is exercised (operations other engineers add later included, since
the schema is loaded at test time), signed in as a city administrator with a fresh API token per
request, against the data of tests.factories.build_world(). Schemathesis generates valid and
invalid inputs; every response must be no 5xx, carry a status code the schema declares, and
match the declared body (the 4xx error shape included: common.schema documents it for every
operation).
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Examples per operation; raise it for a deeper local run: XUEWEN_SCHEMATHESIS_EXAMPLES=200.
MAX_EXAMPLES = int(os.environ.get("XUEWEN_SCHEMATHESIS_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def _load_schema():
    from config.wsgi import application

    config = schemathesis.Config.from_dict({"generation": {"max-examples": MAX_EXAMPLES}})
    return schemathesis.openapi.from_wsgi("/api/schema/", application, config=config)


# Loaded when the module is collected: generating the schema touches no database.
schema = _load_schema()


@pytest.fixture(autouse=True)
def _keep_connection():
    """Django's handler closes the database connection after every request; the test client
    disconnects that during tests, and so do we, or the test's transaction would be lost."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_every_operation_answers_without_server_error_and_as_documented(case, world):
    # A fresh token per request: a generated call to logout or logout-all revokes the token it
    # was made with, and must not sign the rest of the run out.
    _, token = AuthToken.objects.create(user=world.city_admin.user)
    response = case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
    # The run is signed in: a 401 would mean the token never reached the API and every check
    # above passed on "not signed in" answers.
    assert response.status_code != 401, response.text
