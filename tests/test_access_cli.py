"""The operator commands for access: group name and mode, role mappings, brake, held changes, tombstones."""

from datetime import timedelta

from sqlalchemy import select, update

from fluid_scim.extensions import db
from fluid_scim.models import ScimGroup, UserTombstone
from fluid_scim.models.types import utcnow
from fluid_scim.repositories.scoping import across_organisations
from fluid_scim.services import organisations, users


def test_create_with_a_custom_access_group_then_rename_and_switch_mode(app, runner):
    assert runner.invoke(args=["org", "create", "globex", "--access-group", "Globex Staff"]).exit_code == 0
    shown = runner.invoke(args=["org", "access", "globex"])
    assert shown.exit_code == 0 and "access group: Globex Staff" in shown.stdout and "access mode: group" in shown.stdout
    renamed = runner.invoke(args=["org", "access", "globex", "--group-name", "Everyone", "--mode", "all_active"])
    assert "access group: Everyone" in renamed.stdout and "access mode: all_active" in renamed.stdout
    with app.app_context():
        names = db.session.execute(across_organisations(select(ScimGroup.display_name))).scalars().all()
    assert names == ["Everyone"], "renamed in place, not a second group"


def test_role_mappings_and_bad_input(app, runner):
    runner.invoke(args=["org", "create", "globex"])
    result = runner.invoke(args=["org", "roles", "globex", "--group", "Fluid Admin=admin", "--app-role", "Editor=editor"])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(args=["org", "access", "globex"]).stdout
    assert "role: group 'Fluid Admin' -> admin" in shown and "role: app role 'editor' -> editor" in shown
    bad = runner.invoke(args=["org", "roles", "globex", "--group", "Fluid Admin=Not A Role!"])
    assert bad.exit_code == 1 and "is not a Fluid role name" in bad.output
    assert "role: group 'Fluid Admin' -> admin" in runner.invoke(args=["org", "access", "globex"]).stdout


def test_brake_settings_and_held_listing(app, runner):
    runner.invoke(args=["org", "create", "globex"])
    on = runner.invoke(args=["org", "brake", "globex", "--enable", "--percent", "15", "--min", "5", "--window", "30"])
    assert on.stdout.strip() == "brake on: hold removals beyond 15% and 5 users within 30 minutes"
    assert runner.invoke(args=["org", "brake", "globex", "--percent", "0"]).exit_code == 1
    held = runner.invoke(args=["org", "held", "globex"])
    assert held.exit_code == 0 and "0 held change(s)" in held.stderr


def test_tombstones_are_purged_after_their_retention(app, runner, tenant):
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        for name in ("old", "recent"):
            user = users.create_user(organisation=organisation, body={"userName": name})
            users.delete_user(organisation=organisation, user_id=user.id, if_match=None)
        db.session.execute(
            across_organisations(
                update(UserTombstone).where(UserTombstone.user_name == "old").values(purge_after=utcnow() - timedelta(days=1))
            )
        )
        db.session.commit()
    result = runner.invoke(args=["org", "purge-tombstones"])
    assert result.exit_code == 0 and "purged 1 tombstone(s)" in result.stderr
    with app.app_context():
        assert db.session.execute(across_organisations(select(UserTombstone.user_name))).scalars().all() == ["recent"]
