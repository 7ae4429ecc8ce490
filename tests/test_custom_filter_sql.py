"""Filters and sorting on declared custom attributes: SQL (typed rows) agrees with the in-memory reference.

Users are stored as the services store them (``mapping.write_user`` and ``mapping.custom_rows``);
hypothesis draws their custom values and the filters; each filter selects in SQL exactly the users the
evaluator of :mod:`fluid_scim.filters.evaluate` selects, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from fluid_scim.errors import InvalidFilter
from fluid_scim.extensions import db
from fluid_scim.filters import FilterError, compile_predicate, parse_filter
from fluid_scim.models import ScimUser, ScimUserValue
from fluid_scim.models.scim import new_id
from fluid_scim.repositories import mapping
from fluid_scim.repositories.filtering import filter_clause, sort_clause
from fluid_scim.schema.custom import Declaration, user_resource_type
from tests.support.users import attribute_lookup, make_organisation

X = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
RESOURCE = user_resource_type(
    [
        Declaration(str(uuid.uuid4()), X, "code", "string"),
        Declaration(str(uuid.uuid4()), X, "exactCode", "string", case_exact=True),
        Declaration(str(uuid.uuid4()), X, "level", "integer"),
        Declaration(str(uuid.uuid4()), X, "rate", "decimal"),
        Declaration(str(uuid.uuid4()), X, "contractor", "boolean"),
        Declaration(str(uuid.uuid4()), X, "tags", "string", multi_valued=True),
        Declaration(str(uuid.uuid4()), "", "startDate", "dateTime"),
    ],
    undeclared="keep",
)
WORDS = st.sampled_from(["alpha", "Alpha", "beta", "ALPHA-1", "gamma", "b", ""])
INSTANTS = st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00", "2025-06-30T12:30:00Z", "2027-02-03T04:05:06Z"])
VALUES = {
    "code": WORDS,
    "exactCode": WORDS,
    "level": st.integers(min_value=-3, max_value=3),
    "rate": st.sampled_from([0.5, 1.0, 1, 2.25, -1.5]),
    "contractor": st.booleans(),
    "tags": st.lists(WORDS.filter(bool), min_size=1, max_size=3, unique=True),
}
PATHS = {name: f"{X}:{name}" for name in VALUES} | {"startDate": "startDate"}
LITERALS = {
    "code": WORDS.map(lambda word: f'"{word}"'),
    "exactCode": WORDS.map(lambda word: f'"{word}"'),
    "level": st.integers(min_value=-3, max_value=3).map(str),
    "rate": st.sampled_from(["1", "1.0", "0.5", "2", "-2"]),
    "contractor": st.sampled_from(["true", "false"]),
    "tags": WORDS.map(lambda word: f'"{word}"'),
    "startDate": INSTANTS.map(lambda text: f'"{text}"'),
}
OPS = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])


def _document(draw: Any) -> dict[str, Any]:
    custom = {name: draw(strategy) for name, strategy in VALUES.items() if draw(st.booleans())}
    custom = {name: value for name, value in custom.items() if value != ""}
    document: dict[str, Any] = {"userName": f"u-{uuid.uuid4().hex[:10]}"}
    if custom:
        document[X] = custom
    if draw(st.booleans()):
        document["startDate"] = draw(INSTANTS)
    return document


@st.composite
def filters(draw: Any) -> str:
    def leaf() -> str:
        name = draw(st.sampled_from(sorted(PATHS)))
        if draw(st.integers(0, 5)) == 0:
            return f"{PATHS[name]} pr"
        return f"{PATHS[name]} {draw(OPS)} {draw(LITERALS[name])}"

    first = leaf()
    shape = draw(st.integers(0, 3))
    if shape == 1:
        return f"{first} and {leaf()}"
    if shape == 2:
        return f"{first} or not ({leaf()})"
    return first


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])


@PROPERTY
@given(data=st.data())
def test_custom_filters_agree_with_the_reference(app, data):
    with app.app_context():
        try:
            organisation = make_organisation()
            documents: dict[str, dict[str, Any]] = {}
            for _ in range(data.draw(st.integers(1, 8))):
                document = _document(data.draw)
                user = ScimUser(organisation_id=organisation.id, id=new_id())
                rows = mapping.write_user(user, document)
                db.session.add(user)
                db.session.flush()
                db.session.add_all([ScimUserValue(**row) for row in rows] + mapping.custom_rows(user, RESOURCE))
                documents[user.id] = {**mapping.read_user(user), "id": user.id}
            db.session.flush()
            for _ in range(8):
                text = data.draw(filters())
                node = parse_filter(text)
                try:
                    predicate = compile_predicate(node, attribute=attribute_lookup(RESOURCE))
                except FilterError:
                    with pytest.raises(InvalidFilter):
                        filter_clause(RESOURCE, node)
                    continue
                expected = {user_id for user_id, document in documents.items() if predicate(document)}
                # Both shapes: the correlated EXISTS, and the IN over the typed rows an organisation's list uses.
                for scoped in (None, organisation.id):
                    clause = filter_clause(RESOURCE, node, organisation_id=scoped)
                    query = select(ScimUser.id).where(ScimUser.organisation_id == organisation.id, clause)
                    assert set(db.session.scalars(query)) == expected, (text, scoped)
        finally:
            db.session.rollback()


@pytest.mark.parametrize("sort_by", [f"{X}:code", f"{X}:level", f"{X}:tags", "startDate"])
def test_sorting_by_custom_attributes(app, sort_by):
    with app.app_context():
        try:
            organisation = make_organisation()
            values = {
                f"{X}:code": ["beta", "Alpha", None, "gamma"],
                f"{X}:level": [3, -1, None, 2],
                f"{X}:tags": [["b", "z"], ["a"], None, ["c"]],
                "startDate": ["2026-01-01T00:00:00Z", "2025-01-01T00:00:00+02:00", None, "2026-01-01T00:30:00+01:00"],
            }[sort_by]
            ids = []
            for value in values:
                document: dict[str, Any] = {"userName": f"u-{uuid.uuid4().hex[:10]}"}
                if value is not None:
                    if sort_by == "startDate":
                        document["startDate"] = value
                    else:
                        document[X] = {sort_by.rpartition(":")[2]: value}
                user = ScimUser(organisation_id=organisation.id, id=new_id())
                rows = mapping.write_user(user, document)
                db.session.add(user)
                db.session.flush()
                db.session.add_all([ScimUserValue(**row) for row in rows] + mapping.custom_rows(user, RESOURCE))
                ids.append(user.id)
            db.session.flush()
            order = {
                f"{X}:code": [1, 0, 3, 2],
                f"{X}:level": [1, 3, 0, 2],
                f"{X}:tags": [1, 0, 3, 2],
                "startDate": [1, 3, 0, 2],
            }[sort_by]
            query = (select(ScimUser.id).where(ScimUser.organisation_id == organisation.id)
                     .order_by(*sort_clause(RESOURCE, sort_by, False)))
            assert list(db.session.scalars(query)) == [ids[index] for index in order]
        finally:
            db.session.rollback()
