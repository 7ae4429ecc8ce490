"""What the conformance tools reported, printed at the end of the run (``pytest_terminal_summary`` in conftest).

test_conformance.py adds scim2-tester's counts, test_openapi.py and test_graphql_fuzz.py schemathesis's: one line per tool and
backend, keyed by both, so that a line reported again (test_openapi's module fixture ends once per run of
its tests, with the counts so far) replaces the earlier one.
"""

from collections import Counter
from collections.abc import Mapping

CONFORMANCE_RESULTS: dict[str, str] = {}


def report_case_counts(tool: str, cases: Mapping[str, Counter[str]]) -> None:
    """One line per backend at the end of the run (printed with the scim2-tester counts): the cases
    ``tool`` generated, by backend and operation."""
    for backend, counts in sorted(cases.items()):
        CONFORMANCE_RESULTS[f"{tool} on {backend}"] = (
            f"{tool} on {backend}: {sum(counts.values())} generated cases over {len(counts)} operations"
        )
