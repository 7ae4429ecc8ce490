"""``users import``: the Fluid users that existed before SCIM, and how SCIM adopts them (never duplicates)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fluid_scim.errors import ImportFileRefused
from fluid_scim.extensions import db
from fluid_scim.models import AccessEvent, ScimUser, ScimUserValue
from fluid_scim.repositories.mapping import FLUID_ROLES_ROWS
from fluid_scim.repositories.scoping import across_organisations
from fluid_scim.services import imports, organisations, users
from tests.support.tenants import ScimClient
from tests.support.urns import FLUID_URN, USER_URN

ENTRA_AGENT = "Microsoft.Identity.Provisioning"

MIXED = "\n".join(
    [
        "userName,Email,givenName,familyName,displayName,ROLES,active",
        "alice@example.com,alice@example.com,Alice,Liddell,Alice Liddell,editor; Viewer,true",  # 2
        ",nobody@example.com,No,Body,,,",  # 3
        "carol,not-an-email,Carol,,,,",  # 4
        "dave,dave@example.com,,,,admin|Bad Role,",  # 5
        "erin,erin@example.com,,,,,maybe",  # 6
        "",  # 7: blank, skipped
        "ALICE@Example.com,alice2@example.com,,,,,",  # 8
        "Existing,,,,,,",  # 9
        "frank,frank@example.com,Frank,,,editor,False",  # 10
        "gina,Alice@Example.com,,,,,",  # 11
        "h" * 256 + ",,,,,,",  # 12
        '"Zoë Quinn",zoe@example.com,Zoë,Quinn,"Quinn, Zoë",,',  # 13
    ]
)

EXPECTED = [
    ("row 2  alice@example.com  created"),
    ("row 3  -  refused: 'userName' is required"),
    ("row 4  carol  refused: email 'not-an-email' is not an e-mail address"),
    ("row 5  dave  refused: role 'Bad Role' is not a Fluid role name"),
    ("row 6  erin  refused: 'active' must be a boolean (true or false)"),
    ("row 8  ALICE@Example.com  refused: duplicate of row 2"),
    ("row 9  Existing  skipped: exists"),
    ("row 10  frank  created"),
    ("row 11  gina  refused: email 'Alice@Example.com' is already the email of imported user 'alice@example.com'"),
    ("row 12  " + "h" * 256 + "  refused: 'userName' is 256 characters long; at most 255 are allowed"),
    ("row 13  Zoë Quinn  created"),
]


def _import(runner, slug: str, content: str | bytes, *, path=None):
    data = content.encode() if isinstance(content, str) else content
    if path is None:
        return runner.invoke(args=["users", "import", slug, "-"], input=data)
    path.write_bytes(data)
    return runner.invoke(args=["users", "import", slug, str(path)])


def _users(app, slug: str) -> dict[str, ScimUser]:
    with app.app_context():
        organisation = organisations.get_organisation(slug=slug)
        found = db.session.execute(select(ScimUser).where(ScimUser.organisation_id == organisation.id)).scalars().all()
        for user in found:
            db.session.expunge(user)
        return {user.user_name: user for user in found}


def _assert_lines(output: str, expected: list[str]) -> None:
    lines = output.splitlines()
    assert len(lines) == len(expected), output
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), (line, start)


def test_import_reports_each_row_and_keeps_the_good_ones(app, runner, tenant, tmp_path):
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        users.create_user(organisation=organisation, body={"userName": "existing"})

    result = _import(runner, tenant.slug, MIXED, path=tmp_path / "people.csv")

    assert result.exit_code == 1, result.output
    _assert_lines(result.stdout, EXPECTED)
    assert result.stderr.strip() == "created 3, skipped 1, refused 7"
    assert "Traceback" not in result.output

    stored = _users(app, tenant.slug)
    assert set(stored) == {"existing", "alice@example.com", "frank", "Zoë Quinn"}
    alice, frank, zoe = stored["alice@example.com"], stored["frank"], stored["Zoë Quinn"]
    assert (alice.origin, alice.linked_at, alice.access_granted, alice.fluid_roles) == (
        "import",
        None,
        True,
        ["editor", "viewer"],
    )
    assert (alice.name_given_name, alice.name_family_name, alice.display_name, alice.active) == (
        "Alice",
        "Liddell",
        "Alice Liddell",
        True,
    )
    assert alice.multi_valued == {"emails": [{"value": "alice@example.com", "type": "work", "primary": True}]}
    assert alice.access_changed_at is not None
    assert (frank.active, frank.access_granted, frank.fluid_roles, frank.origin) == (False, False, [], "import")
    assert (zoe.display_name, zoe.name_given_name) == ("Quinn, Zoë", "Zoë")
    assert stored["existing"].origin == "scim"

    with app.app_context():
        values = db.session.execute(
            select(ScimUserValue.attribute, ScimUserValue.position, ScimUserValue.value)
            .where(ScimUserValue.organisation_id == alice.organisation_id, ScimUserValue.user_id == alice.id)
            .order_by(ScimUserValue.attribute, ScimUserValue.position)
        ).all()
        assert [tuple(row) for row in values] == [
            ("emails", 0, "alice@example.com"),
            (FLUID_ROLES_ROWS, 0, "editor"),
            (FLUID_ROLES_ROWS, 1, "viewer"),
        ]
        events = (
            db.session.execute(
                select(AccessEvent).where(AccessEvent.organisation_id == alice.organisation_id, AccessEvent.reason == "import")
            )
            .scalars()
            .all()
        )
        # one "granted" per imported user with access; frank (inactive) has none, so no event and no role rows
        assert sorted((event.user_id, event.kind, event.roles_after) for event in events) == sorted(
            [(alice.id, "granted", ["editor", "viewer"]), (zoe.id, "granted", [])]
        )
        assert (
            db.session.execute(
                across_organisations(
                    select(func.count())
                    .select_from(ScimUserValue)
                    .where(ScimUserValue.user_id == frank.id, ScimUserValue.attribute == FLUID_ROLES_ROWS)
                )
            ).scalar_one()
            == 0
        )

    again = _import(runner, tenant.slug, MIXED, path=tmp_path / "people.csv")
    assert again.exit_code == 1
    rerun = [line.replace("created", "skipped: exists") for line in EXPECTED]
    _assert_lines(again.stdout, rerun)
    assert again.stderr.strip() == "created 0, skipped 4, refused 7"
    assert set(_users(app, tenant.slug)) == set(stored)


def test_a_clean_file_from_stdin_with_a_bom_imports_then_skips_everything(app, runner, tenant):
    content = "\ufeffUSERNAME,email,Roles\r\nann,ann@example.com,editor|viewer\r\n\r\nben,ben@example.com,\r\n"
    first = _import(runner, tenant.slug, content)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == ["row 2  ann  created", "row 4  ben  created"]
    assert first.stderr.strip() == "created 2, skipped 0, refused 0"
    assert _users(app, tenant.slug)["ann"].fluid_roles == ["editor", "viewer"]

    second = _import(runner, tenant.slug, content)
    assert second.exit_code == 0
    assert second.stdout.splitlines() == ["row 2  ann  skipped: exists", "row 4  ben  skipped: exists"]
    assert second.stderr.strip() == "created 0, skipped 2, refused 0"
    assert len(_users(app, tenant.slug)) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("userName,email,department\nann,ann@example.com,Sales\n", "unknown column 'department'"),
        ("userName,Mail,Phone\nann,a@example.com,1\n", "unknown columns 'Mail', 'Phone'"),
        ("email,roles\nann@example.com,editor\n", "the header has no userName column"),
        ("userName,email,EMAIL\nann,a@example.com,b@example.com\n", "the column email is given twice"),
        ("userName,email\nann,ann@example.com\nSmith, Bob,bob@example.com\n", "row 3 has 3 values but the header names 2"),
        (b"userName\nann\nbj\xf6rn\n", "the file is not UTF-8 text"),
        ("", "the file is empty"),
    ],
)
def test_a_bad_file_is_refused_whole_and_nothing_is_written(app, runner, tenant, content, message):
    result = _import(runner, tenant.slug, content)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and message in result.stderr, result.stderr
    assert "nothing was imported" in result.stderr
    assert _users(app, tenant.slug) == {}


def test_an_unknown_organisation_is_an_error(app, runner):
    result = _import(runner, "nowhere", "userName\nann\n")
    assert result.exit_code == 1
    assert "no organisation 'nowhere'" in result.stderr


def test_the_row_limit_refuses_the_whole_file(app, runner, tenant, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 2)
    result = _import(runner, tenant.slug, "userName\na\n\nb\nc\n")
    assert result.exit_code == 1
    assert "more than 2 rows" in result.stderr
    assert _users(app, tenant.slug) == {}


def test_import_users_takes_any_column_case_and_refuses_unknown_columns(app, tenant):
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        with pytest.raises(ImportFileRefused, match="unknown column 'title'"):
            imports.import_users(organisation=organisation, rows=[{"userName": "a"}, {"USERNAME": "b", "title": "x"}])
        report = imports.import_users(
            organisation=organisation, rows=[{"USERNAME": " ann ", "Active": "FALSE"}, {}, {"username": "bo"}]
        )
    assert [(r.row, r.user_name, r.outcome) for r in report.results] == [(2, "ann", "created"), (4, "bo", "created")]
    assert report.summary() == "created 2, skipped 0, refused 0"
    assert _users(app, tenant.slug)["ann"].active is False


# -- adoption by SCIM, as Entra does it --------------------------------------------------------


@pytest.fixture
def entra(live_server, tenant) -> ScimClient:
    return ScimClient(live_server.url, tenant, user_agent=ENTRA_AGENT)


def _entra_user(user_name: str, email: str | None = None) -> dict:
    body = {
        "schemas": [USER_URN], "externalId": "e-" + user_name, "userName": user_name, "active": True, "displayName": "Someone"
    }
    if email:
        body["emails"] = [{"primary": True, "type": "work", "value": email}]
    return body


@pytest.mark.live
def test_entra_finds_an_imported_user_by_username_then_adopts_it(app, runner, tenant, entra):
    imported = _import(runner, tenant.slug, "userName,email,roles\nAlice@Example.com,alice@example.com,editor\n")
    assert imported.exit_code == 0, imported.output
    alice_id = _users(app, tenant.slug)["Alice@Example.com"].id

    found = entra.get('/Users?filter=userName eq "alice@example.com"')
    assert found.status_code == 200
    assert found.json()["totalResults"] == 1
    assert [resource["id"] for resource in found.json()["Resources"]] == [alice_id]

    # Before adoption, the import's access and roles stand and are visible and filterable.
    shown = entra.get(f"/Users/{alice_id}").json()
    assert FLUID_URN in shown["schemas"]
    assert shown[FLUID_URN]["accessGranted"] is True
    assert shown[FLUID_URN]["roles"] == [{"value": "editor"}]
    with_access = entra.get(f"/Users?filter={FLUID_URN}:accessGranted eq true").json()
    assert [resource["id"] for resource in with_access["Resources"]] == [alice_id]

    conflict = entra.post("/Users", _entra_user("alice@example.com", "alice@example.com"))
    assert conflict.status_code == 409
    assert conflict.json()["scimType"] == "uniqueness"

    patched = entra.patch(f"/Users/{alice_id}", [{"op": "Replace", "path": "active", "value": "True"}])
    assert patched.status_code == 200, patched.text

    stored = _users(app, tenant.slug)
    assert list(stored) == ["Alice@Example.com"]
    assert stored["Alice@Example.com"].id == alice_id
    assert stored["Alice@Example.com"].linked_at is not None
    assert stored["Alice@Example.com"].origin == "import"


@pytest.mark.live
def test_entra_adopts_an_imported_user_by_email_instead_of_duplicating_it(app, runner, tenant, entra):
    imported = _import(runner, tenant.slug, "userName,email,givenName\nbob.legacy,bob@example.com,Bob\n")
    assert imported.exit_code == 0, imported.output
    bob_id = _users(app, tenant.slug)["bob.legacy"].id

    assert entra.get('/Users?filter=userName eq "bob@example.com"').json()["totalResults"] == 0
    created = entra.post("/Users", _entra_user("bob@example.com", "bob@example.com"))
    assert created.status_code == 201, created.text
    assert created.json()["id"] == bob_id
    assert created.json()["userName"] == "bob@example.com"

    stored = _users(app, tenant.slug)
    assert list(stored) == ["bob@example.com"]
    assert stored["bob@example.com"].id == bob_id
    assert stored["bob@example.com"].linked_at is not None


def test_a_row_is_tried_again_when_the_database_is_busy(app, tenant, monkeypatch):
    from sqlalchemy.exc import OperationalError

    create = imports._create
    calls = []

    def busy_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return create(*args, **kwargs)

    monkeypatch.setattr(imports, "_create", busy_once)
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        report = imports.import_users(organisation=organisation, rows=[{"userName": "ann"}, {"userName": "ANN"}])
    assert [(r.row, r.outcome, r.reason) for r in report.results] == [(2, "created", ""), (3, "refused", "duplicate of row 2")]
    assert len(calls) == 2
    assert list(_users(app, tenant.slug)) == ["ann"]


def test_rows_with_values_beyond_the_header_refuse_the_input(app, tenant):
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        with pytest.raises(ImportFileRefused, match="more values than the header"):
            imports.import_users(organisation=organisation, rows=[{"userName": "a", None: ["x"]}])  # type: ignore[dict-item]
    assert _users(app, tenant.slug) == {}
