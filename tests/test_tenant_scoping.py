"""The tenant guard: a query on a tenant table that names no organisation fails before it runs."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, func, select, update

from fluid_scim.extensions import db
from fluid_scim.models import Organisation, ScimGroup, ScimGroupMember, ScimToken, ScimUser
from fluid_scim.repositories.scoping import UnscopedTenantQuery, across_organisations, is_scoped

ORG = uuid.uuid4()


@pytest.mark.parametrize(
    "statement",
    [
        select(ScimUser),
        select(ScimUser).where(ScimUser.id == "x"),
        select(func.count()).select_from(ScimGroupMember),
        update(ScimUser).where(ScimUser.user_name == "x").values(title="t"),
        delete(ScimGroup).where(ScimGroup.display_name == "x"),
    ],
    ids=["select", "select-by-id-only", "count", "update", "delete"],
)
def test_an_unscoped_statement_is_refused_by_the_session(app, statement):
    with app.app_context(), pytest.raises(UnscopedTenantQuery, match="without an organisation criterion"):
        db.session.execute(statement)


def test_scoped_and_declared_platform_wide_statements_run(app):
    with app.app_context():
        assert db.session.execute(select(ScimUser).where(ScimUser.organisation_id == ORG)).all() == []
        assert db.session.execute(across_organisations(select(func.count()).select_from(ScimUser))).scalar_one() == 0
        assert db.session.execute(select(Organisation).where(Organisation.slug == "nobody")).all() == []


def test_every_tenant_table_of_a_join_must_be_tied_to_the_organisation():
    members = select(ScimGroupMember.member_id, ScimGroup.display_name).join(
        ScimGroup,
        (ScimGroup.organisation_id == ScimGroupMember.organisation_id) & (ScimGroup.id == ScimGroupMember.group_id),
    )
    assert is_scoped(members.where(ScimGroupMember.organisation_id == ORG))
    assert not is_scoped(members)
    # A join that does not carry the organisation over leaves the second table open.
    loose = select(ScimUser, ScimGroup).join(ScimGroup, ScimGroup.id == ScimUser.id).where(ScimUser.organisation_id == ORG)
    assert not is_scoped(loose)


def test_an_organisation_found_by_slug_scopes_what_is_joined_to_it():
    with_token = select(Organisation, ScimToken).outerjoin(ScimToken, ScimToken.organisation_id == Organisation.id)
    assert is_scoped(with_token.where(Organisation.slug == "acme"))
    assert not is_scoped(with_token)


def test_a_comparison_of_two_columns_is_no_scope():
    assert not is_scoped(select(ScimUser).where(ScimUser.organisation_id == ScimUser.manager_id))
