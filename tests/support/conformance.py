"""What the conformance tools reported, printed at the end of the run (``pytest_terminal_summary`` in conftest).

test_conformance.py adds scim2-tester's counts and test_openapi.py schemathesis's, one line per backend.
"""

CONFORMANCE_RESULTS: list[str] = []
