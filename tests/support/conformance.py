"""What the conformance tools reported, printed at the end of the run (``pytest_terminal_summary`` in conftest).

test_conformance.py adds scim2-tester's counts and test_openapi.py schemathesis's: one line per tool and
backend, keyed by both, so that a line reported again (test_openapi's module fixture ends once per run of
its tests, with the counts so far) replaces the earlier one.
"""

CONFORMANCE_RESULTS: dict[str, str] = {}
