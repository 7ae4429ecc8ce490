"""The GraphQL admin API under schemathesis's GraphQL fuzzing, as the SCIM surface is under its OpenAPI one.

schemathesis reads ``graphql_admin/schema.graphql`` and generates operations for every Query and
Mutation field (valid ones, and invalid ones of each argument), sent to a live gunicorn with a
credential of an organisation admin who is also a platform operator (so that no operation is
refused before its arguments are read). Every answer must be a GraphQL answer below 500, no
resolver may fail (schemathesis's ``not_a_server_error``), and no error may be the masked
"Unexpected error." that stands for a server fault: a caller's mistake is named as such.

No operation is excluded: the fuzz authenticates with an admin credential (a signed JWT) that no
mutation can revoke, and each operation is fuzzed against an organisation of its own (the
``tenant`` fixture), so rotating or revoking that organisation's SCIM token, or switching its
sync off, harms nothing else.
"""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.graphql import nodes

from tests.support.conformance import report_case_counts
from tests.support.graphql import credential

pytestmark = pytest.mark.live

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "graphql_admin" / "schema.graphql"
MAX_EXAMPLES = 25
CASES: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)

# DateTime (ISO 8601, the provisioning history's since/until) is the one custom input scalar; JSON is output only.
# Any offset up to ±14 hours: year 1 east of UTC and year 9999 west of it have no UTC instant.
_offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)))
_instants = st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31), timezones=_offsets)
_date_times = st.one_of(_instants.map(lambda value: value.isoformat()), st.text(max_size=30))
schemathesis.graphql.scalar("DateTime", _date_times.map(nodes.String))
schemathesis.graphql.scalar("JSON", st.just(nodes.Null))

CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}, "generation": {"mode": "all"}})
schema = schemathesis.graphql.from_file(SCHEMA_FILE.read_text(encoding="utf-8"), config=CONFIG)


@schemathesis.check
def no_masked_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """A masked error ("Unexpected error.") is a server fault: a caller's mistake must say what it was."""
    if response.status_code == 400:
        return None  # the view's own refusal of a body (JSON, depth, list length): its message says why
    errors = response.json().get("errors") or []
    masked = [error for error in errors if error.get("message") == "Unexpected error."]
    if masked:
        raise AssertionError(f"masked error for {case.operation.label}: {masked}")
    return None


@pytest.fixture(scope="module", autouse=True)
def _report_case_counts():
    yield
    report_case_counts("schemathesis GraphQL", CASES)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_graphql_api_survives_fuzzing(case, live_server, app, tenant, database_url):
    CASES[database_url.split(":", 1)[0]][case.operation.label] += 1
    token = credential(app, tenant.slug, operator=True)
    headers = {"Host": tenant.host, "Authorization": f"Bearer {token}"}
    case.call_and_validate(
        base_url=f"{live_server.url}/graphql", headers=headers, checks=[not_a_server_error, no_masked_error], timeout=10
    )
