"""GraphiQL, which `make run` prints, in real headless Chromium: its page's own policy admits it.

The page loads React and GraphiQL from unpkg.com and starts them with an inline script; with the API
policy (``default-src 'none'``) Chromium refused all of it and the page stayed blank. This machine
cannot reach unpkg.com, so what is checked is that Chromium refuses nothing on policy grounds: not
the assets, not the inline script. Chromium is Debian's (`make test` installs it when missing).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support.services import LiveServer

pytestmark = pytest.mark.live

# Every refusal on policy grounds, as the page sees it.
RECORD_VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.violations.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""


def test_the_graphiql_page_carries_a_policy_that_admits_its_own_scripts(live_server: LiveServer, chromium: Any) -> None:
    host = f"acme.localhost:{live_server.port}"
    url = f"http://{host}/graphql"
    answer = requests.get(f"{live_server.url}/graphql", headers={"Accept": "text/html", "Host": host}, timeout=10)
    assert answer.status_code == 200 and "GraphiQL" in answer.text
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src https://unpkg.com 'sha256-" in policy and "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]

    context = chromium.new_context()
    try:
        page = context.new_page()
        page.add_init_script(RECORD_VIOLATIONS)
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(url, wait_until="load")
        violations = page.evaluate("window.violations")
    finally:
        context.close()
    assert violations == [], violations
    assert not [line for line in console if "Content Security Policy" in line], console
