"""The work one request may spend (docs/scim.md, "Limits").

What a request costs grows with more than its size in bytes:

* a PATCH operation on ``emails`` (or any multi-valued attribute) reads every current entry, and
  one with a value filter (``emails[type eq "work" or value co "x"]``) evaluates each of the
  filter's terms on each of them: ``entries x terms`` per operation;
* every change of a user's multi-valued attributes rewrites its value rows (the rows filters read);
* every password set is hashed with scrypt, tens of milliseconds each;
* every member added to or removed from the access group (or a group mapped to a Fluid role) has
  its access to Fluid worked out again, with its events.

Without bounds, 1,000 filtered operations on a user with thousands of entries, or a Bulk request
of a thousand such changes, kept a worker past its timeout. One :class:`WorkBudget` lives as long
as one HTTP request (the operations of a Bulk request share it) and refuses, with ``tooMany``, the
operation that would pass a bound; nothing of the request is applied (a PATCH is atomic, RFC 7644
§3.5.2; a Bulk request here is applied whole or not at all).
"""

from __future__ import annotations

from fluid_scim.errors import TooMany

#: Entry x filter-term evaluations by PATCH operations in one request. Identity providers spend
#: tens (a handful of operations on a user with a handful of emails).
EVALUATION_LIMIT = 200_000
#: Value rows of multi-valued attributes written by one request (a user's rows are rewritten when
#: one of those attributes changes); a Bulk request creating 200 users with 25 values each fits.
ROW_LIMIT = 5_000
#: Passwords hashed by one request (scrypt: deliberately slow). A create carries at most one.
PASSWORD_LIMIT = 10
#: Users whose access one request works out again (members added to or removed from the access group
#: or a role-mapped group); any group may hold more, changed over several requests. An identity
#: provider's full push replaces thousands of members at once (Okta's ``replace`` of ``members``, a PUT
#: of the group): 5,000 members given, and as many who left. Access is written 500 users at a time in
#: a fixed number of statements (services.access), so the time grows with the users, not faster.
ACCESS_LIMIT = 10_000

_ADVICE = "nothing was changed; split the work into smaller requests"


class WorkBudget:
    """What one request may still spend; each ``spend_*`` raises :class:`TooMany` past its bound."""

    __slots__ = ("access", "evaluations", "passwords", "rows")

    def __init__(self) -> None:
        self.evaluations = 0
        self.rows = 0
        self.passwords = 0
        self.access = 0

    def spend_evaluations(self, units: int, label: str) -> None:
        self.evaluations += units
        if self.evaluations > EVALUATION_LIMIT:
            raise TooMany(
                f"'{label}' passes the request's PATCH work limit: its operations would evaluate "
                f"{self.evaluations:,} entries of multi-valued attributes (entries x filter terms), "
                f"at most {EVALUATION_LIMIT:,} in one request; {_ADVICE}"
            )

    def spend_rows(self, rows: int, label: str) -> None:
        self.rows += rows
        if self.rows > ROW_LIMIT:
            raise TooMany(
                f"{label} passes the request's write limit: it would write {self.rows:,} values of multi-valued "
                f"attributes, at most {ROW_LIMIT:,} in one request; {_ADVICE}"
            )

    def spend_password(self, label: str) -> None:
        self.passwords += 1
        if self.passwords > PASSWORD_LIMIT:
            raise TooMany(f"{label} passes the request's limit of {PASSWORD_LIMIT} passwords set; {_ADVICE}")

    def spend_access(self, users: int, label: str) -> None:
        self.access += users
        if self.access > ACCESS_LIMIT:
            raise TooMany(
                f"{label} changes the access to Fluid of {self.access:,} users; at most {ACCESS_LIMIT:,} in one "
                f"request; {_ADVICE}"
            )
