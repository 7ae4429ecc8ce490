"""The CSV history export shows caller-controlled text as text: a cell a spreadsheet would run as a
formula (``=``, ``+``, ``-``, ``@``, tab, carriage return; OWASP "CSV Injection") starts with ``'``.
The JSON lines export keeps the values as they were."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from fluid_scim.models.types import utcnow
from fluid_scim.services.history import neutral_cell
from tests.support.tenants import ScimClient, wait_until_recorded

pytestmark = pytest.mark.live

FORMULA = '=HYPERLINK("http://127.0.0.1/x","click")'


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_starts_are_neutralised(text):
    assert neutral_cell(text) == "'" + text
    assert neutral_cell("plain " + text) == "plain " + text


def test_a_user_agent_sent_with_a_401_is_exported_as_text(app, runner, live_server, tenant):
    stranger = ScimClient(live_server.url, tenant, user_agent=FORMULA)
    assert stranger.get("/Users", headers={"Authorization": "Bearer not-the-token"}).status_code == 401
    wait_until_recorded(app, tenant)
    since = (utcnow() - timedelta(days=1)).date().isoformat()

    as_csv = runner.invoke(args=["audit", "export", tenant.slug, "--since", since, "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    agents = [row["user_agent"] for row in csv.DictReader(io.StringIO(as_csv.stdout))]
    assert "'" + FORMULA in agents and FORMULA not in agents

    as_jsonl = runner.invoke(args=["audit", "export", tenant.slug, "--since", since, "--format", "jsonl"])
    assert FORMULA in [json.loads(line)["user_agent"] for line in as_jsonl.stdout.splitlines()]
