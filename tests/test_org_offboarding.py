"""Offboarding: `org delete` removes an organisation from the database and from Vault (read directly),
a removal stopped midway (Vault or the database failing) is finished by running it again, the
operator mutation does the same and is refused to anyone else, and `org export` writes what the
SCIM API answers."""

from __future__ import annotations

import dataclasses
import getpass
import itertools
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from fluid_scim.errors import RemovalInterrupted
from fluid_scim.extensions import db
from fluid_scim.models import Organisation, OrganisationRemoval
from fluid_scim.patch import Operation
from fluid_scim.secrets import Secret
from fluid_scim.services import (
    access_admin,
    directory_attributes,
    offboarding,
    organisations,
    request_context,
    users,
    webhooks,
)
from fluid_scim.services.request_context import RequestContext
from graphql_admin import mutations
from tests.support.graphql import claims_for, credential, execute
from tests.support.services import LiveServer, Vault, wait_until
from tests.support.statements import captured_statements
from tests.support.tenants import ScimClient, Tenant, make_tenant
from tests.support.urns import PATCH_OP_URN, USER_URN
from tests.support.users import add_group, add_many_users

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
# What the issue names, each of which the populated organisation has rows in before its removal.
POPULATED = (
    "scim_token", "scim_user", "scim_user_value", "scim_user_custom_value", "scim_group", "scim_group_member",
    "provisioning_event", "provisioning_status", "status_bucket", "outbox_sequence", "outbox_pending", "outbox_event",
    "webhook_endpoint", "webhook_delivery", "role_mapping", "access_event", "held_access_change", "user_tombstone",
    "attribute_declaration", "attribute_role_mapping",
)
REMOVE = """mutation($slug: String!, $confirm: String!) { removeOrganisation(slug: $slug, confirmSlug: $confirm) {
  __typename ... on Failure { message }
  ... on OrganisationRemoval { slug organisationId requestedBy completed completedBy completedAt
                               secretsDestroyed rowsDeleted } } }"""


# -- helpers ---------------------------------------------------------------------------------------


def scim(client: FlaskClient, tenant: Tenant, method: str, path: str, body: Any = None) -> Any:
    return client.open(
        f"/scim/v2{path}",
        method=method,
        base_url=f"http://{tenant.host}",
        headers={"Authorization": f"Bearer {tenant.token}", "Content-Type": "application/scim+json"},
        data=json.dumps(body) if body is not None else None,
    )


def organisation_id(app: Flask, slug: str) -> uuid.UUID:
    with app.app_context():
        found = db.session.execute(select(Organisation.id).where(Organisation.slug == slug)).scalar_one()
        db.session.remove()
    return found


def rows_by_table(app: Flask, owner: uuid.UUID) -> dict[str, int]:
    """How many rows of each table with an ``organisation_id`` belong to ``owner``, and its organisation row."""
    counts: dict[str, int] = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if "organisation_id" in table.c:
                counts[table.name] = db.session.execute(
                    select(func.count()).select_from(table).where(table.c.organisation_id == owner)
                ).scalar_one()
        counts["organisation"] = db.session.execute(
            select(func.count()).select_from(Organisation).where(Organisation.id == owner)
        ).scalar_one()
        db.session.remove()
    return counts


def vault_folder(vault: Vault, owner: uuid.UUID) -> str:
    return f"{vault.addr}/v1/secret/metadata/fluid-scim/organisations/{owner}"


def vault_secrets(vault: Vault, owner: uuid.UUID) -> list[str]:
    """Every secret Vault keeps under the organisation, read from Vault itself (KV v2 LIST of the metadata)."""
    found: list[str] = []

    def walk(url: str, prefix: str) -> None:
        response = requests.request("LIST", url, headers={"X-Vault-Token": vault.token}, timeout=5)
        if response.status_code == 404:
            return
        response.raise_for_status()
        for key in response.json()["data"]["keys"]:
            if key.endswith("/"):
                walk(f"{url}/{key.rstrip('/')}", f"{prefix}{key}")
            else:
                found.append(prefix + key)

    walk(vault_folder(vault, owner), "")
    return sorted(found)


def assert_gone_from_vault(vault: Vault, owner: uuid.UUID, paths: list[str]) -> None:
    """No metadata and no version of any of ``paths`` is left, and nothing else under the organisation."""
    assert vault_secrets(vault, owner) == []
    headers = {"X-Vault-Token": vault.token}
    for path in paths:
        metadata = requests.get(f"{vault_folder(vault, owner)}/{path}", headers=headers, timeout=5)
        assert metadata.status_code == 404, (path, metadata.text)
        for version in (1, 2):
            data = requests.get(
                f"{vault.addr}/v1/secret/data/fluid-scim/organisations/{owner}/{path}?version={version}",
                headers=headers, timeout=5,
            )
            assert data.status_code == 404, (path, version, data.text)


def populate(app: Flask, client: FlaskClient, tenant: Tenant) -> dict[str, Any]:
    """Rows in every table the organisation can own: users and groups through SCIM, the rest through
    the admin's use cases and the webhook worker's fan-out."""
    store = app.extensions["fluid_secret_store"]
    settings = dataclasses.replace(app.extensions["fluid_settings"], webhook_allowed_hosts=("127.0.0.1",))
    with app.app_context(), request_context.acting(RequestContext(kind="admin", actor="admin:test")):
        organisation = organisations.get_organisation(slug=tenant.slug)
        directory_attributes.declare(organisation=organisation, spec=directory_attributes.Spec(f"{CUSTOM}:badge"))
        access_admin.set_attribute_role_mappings(organisation=organisation, rules=[('userType eq "Employee"', "staff")])
        endpoints = [
            webhooks.create_endpoint(organisation=organisation, url=f"http://127.0.0.1:9999/hook-{n}", event_types=None,
                                     store=store, settings=settings)[0].id
            for n in range(2)
        ]
        # A second version of the first endpoint's secret: every version must go.
        webhooks.rotate_secret(organisation=organisation, endpoint_id=endpoints[0], store=store)
    user_ids = []
    for n in range(4):
        created = scim(client, tenant, "POST", "/Users", {
            "schemas": [USER_URN, CUSTOM], "userName": f"person{n}@{tenant.slug}.example", "active": True,
            "emails": [{"value": f"person{n}@{tenant.slug}.example", "type": "work", "primary": True}],
            "userType": "Employee", CUSTOM: {"badge": f"B-{n}"},
        })
        assert created.status_code == 201, created.get_json()
        user_ids.append(created.get_json()["id"])
    group = scim(client, tenant, "POST", "/Groups", {
        "schemas": [GROUP_URN], "displayName": "Engineering", "members": [{"value": user_id} for user_id in user_ids[:3]],
    })
    assert group.status_code == 201, group.get_json()
    assert scim(client, tenant, "DELETE", f"/Users/{user_ids[3]}").status_code == 204  # a tombstone
    with app.app_context(), request_context.acting(RequestContext(kind="admin", actor="admin:test")):
        organisation = organisations.get_organisation(slug=tenant.slug)
        access_admin.set_role_mappings(organisation=organisation, groups={"Engineering": "engineer"})
        access_admin.set_access_mode(organisation=organisation, mode="all_active")
        access_admin.set_brake(organisation=organisation, enabled=True, percent=1, min_removals=0)
        users.patch_user(organisation=organisation, user_id=user_ids[0], if_match=None,
                         operations=[Operation(op="replace", path="active", value=False)])  # held by the brake
        webhooks.dispatch()  # deliveries of the events above
    return {"user_ids": user_ids, "group_id": group.get_json()["id"], "endpoints": endpoints}


def pause(vault: Vault) -> None:
    """Freeze OpenBao, and check that it no longer answers."""
    vault.pause()
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(f"{vault.addr}/v1/sys/health", timeout=0.5)


@pytest.fixture
def vault_resumed(vault: Vault) -> Iterator[Vault]:
    """The session's OpenBao, resumed after the test whatever happens (tests pause it)."""
    try:
        yield vault
    finally:
        vault.resume()


# -- removal --------------------------------------------------------------------------------------


def test_org_delete_removes_everything_of_the_organisation_and_nothing_else(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, vault: Vault, live_server: LiveServer
) -> None:
    doomed, bystander = make_tenant(app), make_tenant(app)
    made = populate(app, client, doomed)
    populate(app, client, bystander)
    # A change after every fan-out: its event waits unnumbered (outbox_pending) for the next publisher.
    renamed = scim(client, doomed, "PATCH", f"/Users/{made['user_ids'][1]}", {
        "schemas": [PATCH_OP_URN], "Operations": [{"op": "replace", "path": "displayName", "value": "Renamed"}],
    })
    assert renamed.status_code == 200, renamed.get_json()
    owner, other = organisation_id(app, doomed.slug), organisation_id(app, bystander.slug)
    events_before = rows_by_table(app, owner)["provisioning_event"]
    assert ScimClient(live_server.url, doomed).get("/Users").status_code == 200
    # The live server writes that read's event with its recorder's next batch: count from there on.
    wait_until(lambda: rows_by_table(app, owner)["provisioning_event"] == events_before + 1, timeout=20,
               what="the live server's read event to be written")
    before = rows_by_table(app, owner)
    assert [name for name in POPULATED if before[name] == 0] == []
    bystander_before = rows_by_table(app, other)
    vault_paths = ["scim-token", *(f"webhooks/{endpoint}" for endpoint in made["endpoints"])]
    assert vault_secrets(vault, owner) == sorted(vault_paths)

    refused = runner.invoke(args=["org", "delete", doomed.slug])
    assert refused.exit_code == 2 and "add --yes to confirm" in refused.output
    assert rows_by_table(app, owner) == before

    removed = runner.invoke(args=["org", "delete", doomed.slug, "--yes"])

    assert removed.exit_code == 0, removed.output
    assert f"removed organisation {doomed.slug} ({owner}): 3 secret(s) destroyed" in removed.stderr
    assert set(rows_by_table(app, owner).values()) == {0}
    assert_gone_from_vault(vault, owner, vault_paths)
    assert rows_by_table(app, other) == bystander_before
    assert len(vault_secrets(vault, other)) == 3
    # The identity provider is told the organisation does not exist; the other one goes on.
    gone = ScimClient(live_server.url, doomed).get("/Users")
    assert gone.status_code == 404 and "no Fluid organisation" in gone.json()["detail"]
    assert ScimClient(live_server.url, bystander).get("/Users").status_code == 200
    # The platform record says who removed which organisation, and when.
    with app.app_context():
        record = db.session.execute(select(OrganisationRemoval).where(OrganisationRemoval.slug == doomed.slug)).scalar_one()
        assert record.removed_organisation_id == owner
        assert record.requested_by == record.completed_by == f"cli:{getpass.getuser()}"
        assert record.completed_at is not None and record.completed_at >= record.requested_at
    again = runner.invoke(args=["org", "delete", doomed.slug, "--yes"])
    assert again.exit_code == 1 and f"no organisation {doomed.slug!r}: it was removed on" in again.output


def test_a_removal_stopped_by_vault_refuses_the_organisation_at_once_and_a_second_run_finishes_it(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, vault_resumed: Vault
) -> None:
    vault = vault_resumed
    tenant = make_tenant(app)
    populate(app, client, tenant)
    owner = organisation_id(app, tenant.slug)
    admin = credential(app, tenant.slug)

    pause(vault)
    stopped = runner.invoke(args=["org", "delete", tenant.slug, "--yes"])
    assert stopped.exit_code == 1, stopped.output
    assert "stopped: the key vault is unavailable" in stopped.output and "running the removal again finishes it" in stopped.output
    # Marked first: SCIM, the organisation's admins and the other commands are refused already.
    assert scim(client, tenant, "GET", "/Users").status_code == 404
    graphql = client.post("/graphql", json={"query": "{ organisation { slug } }"},
                          headers={"Authorization": f"Bearer {admin}"}, base_url=f"http://{tenant.host}")
    assert graphql.status_code == 401
    token = runner.invoke(args=["org", "token", "generate", tenant.slug])
    assert token.exit_code == 1 and "is being removed" in token.output
    listed = [line.split() for line in runner.invoke(args=["org", "list"]).stdout.splitlines()]
    assert [row[-3] for row in listed if row[0] == tenant.slug] == ["removing"]
    assert rows_by_table(app, owner)["scim_user"] > 0

    vault.resume()
    assert len(vault_secrets(vault, owner)) == 3
    finished = runner.invoke(args=["org", "delete", tenant.slug, "--yes"])
    assert finished.exit_code == 0, finished.output
    assert set(rows_by_table(app, owner).values()) == {0}
    assert vault_secrets(vault, owner) == []
    with app.app_context():
        record = db.session.execute(select(OrganisationRemoval).where(OrganisationRemoval.slug == tenant.slug)).scalar_one()
        assert record.completed_at is not None


def test_vault_stopping_after_the_database_part_is_finished_by_a_second_run(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, vault_resumed: Vault
) -> None:
    vault = vault_resumed
    tenant = make_tenant(app)
    populate(app, client, tenant)
    owner = organisation_id(app, tenant.slug)
    store = app.extensions["fluid_secret_store"]
    late = str(uuid.uuid4())

    def progress(step: str, count: int) -> None:
        if step == "webhook_endpoint":
            # A request under way when the organisation was marked writes a webhook secret after the Vault step.
            store.write_webhook_secret(owner, late, Secret("whsec_" + "A" * 32))
        if step == "organisation":
            pause(vault)

    with app.app_context(), request_context.acting(RequestContext(kind="admin", actor="cli:first")):
        with pytest.raises(RemovalInterrupted, match="the key vault is unavailable"):
            offboarding.remove_organisation(slug=tenant.slug, store=store, batch_rows=3, progress=progress)
        db.session.remove()
    assert set(rows_by_table(app, owner).values()) == {0}

    vault.resume()
    assert vault_secrets(vault, owner) == [f"webhooks/{late}"]
    finished = runner.invoke(args=["org", "delete", tenant.slug, "--yes"])
    assert finished.exit_code == 0, finished.output
    assert "1 secret(s) destroyed" in finished.stderr
    assert_gone_from_vault(vault, owner, [f"webhooks/{late}"])
    with app.app_context():
        record = db.session.execute(select(OrganisationRemoval).where(OrganisationRemoval.slug == tenant.slug)).scalar_one()
        assert (record.requested_by, record.completed_by) == ("cli:first", f"cli:{getpass.getuser()}")


def test_the_database_failing_midway_after_vault_is_finished_by_a_second_run(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, vault: Vault
) -> None:
    tenant = make_tenant(app)
    populate(app, client, tenant)
    owner = organisation_id(app, tenant.slug)
    store = app.extensions["fluid_secret_store"]
    batches: list[str] = []

    def progress(step: str, count: int) -> None:
        if step != "secrets":
            batches.append(step)
        if len(batches) == 3:
            # The connection to the database is lost between two batches.
            db.session.connection().connection.dbapi_connection.close()  # type: ignore[union-attr]

    with app.app_context(), request_context.acting(RequestContext(kind="admin", actor="cli:first")):
        with pytest.raises(RemovalInterrupted, match="the database failed"):
            offboarding.remove_organisation(slug=tenant.slug, store=store, batch_rows=2, progress=progress)
        db.session.remove()
    left = rows_by_table(app, owner)
    assert left["organisation"] == 1 and left["scim_user"] > 0 and 0 < sum(left.values())
    assert vault_secrets(vault, owner) == []  # Vault went first
    assert scim(client, tenant, "GET", "/Users").status_code == 404

    finished = runner.invoke(args=["org", "delete", tenant.slug, "--yes"])
    assert finished.exit_code == 0, finished.output
    assert set(rows_by_table(app, owner).values()) == {0}


def test_a_large_organisation_is_deleted_in_batches_each_its_own_transaction(
    app: Flask, runner: FlaskCliRunner, vault: Vault
) -> None:
    tenant = make_tenant(app)
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        people = add_many_users(organisation, (f"user{n}@big.example" for n in range(2500)))
        add_group(organisation, "Everyone", members=people)
        db.session.commit()
        owner = organisation.id
        db.session.remove()
    batches: list[tuple[str, int]] = []

    with captured_statements(app) as statements, app.app_context():
        event.listen(db.engine, "commit", lambda connection: statements.append(("COMMIT", None)))
        with request_context.acting(RequestContext(kind="admin", actor="cli:test")):
            report = offboarding.remove_organisation(
                slug=tenant.slug, store=app.extensions["fluid_secret_store"], progress=lambda step, n: batches.append((step, n))
            )
        db.session.remove()

    assert report.completed
    assert [n for step, n in batches if step == "scim_user"] == [1000, 1000, 500]
    assert [n for step, n in batches if step == "scim_group_member"] == [1000, 1000, 500]
    assert report.rows_deleted["scim_user"] == 2500
    assert set(rows_by_table(app, owner).values()) == {0}
    # Each batch is one bounded DELETE (a LIMIT in its subquery) in a transaction of its own.
    texts = [" ".join(statement.split()).upper() for statement, _ in statements]
    deletes = [index for index, text in enumerate(texts) if text.startswith("DELETE FROM SCIM_USER ")]
    assert len(deletes) == 3 and all("LIMIT" in texts[index] for index in deletes)
    for first, second in itertools.pairwise(deletes):
        assert "COMMIT" in texts[first:second]


# -- the operator mutation ----------------------------------------------------------------------------


def test_remove_organisation_is_for_platform_operators_and_goes_on_call_after_call(
    app: Flask, client: FlaskClient, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant(app)
    populate(app, client, tenant)
    owner = organisation_id(app, tenant.slug)
    variables = {"slug": tenant.slug, "confirm": tenant.slug}

    as_admin = execute(app, REMOVE, claims_for(tenant.slug), variables).data
    assert as_admin == {"removeOrganisation": {"__typename": "NotAllowed", "message": "only a platform operator may do this"}}
    operator = claims_for("ops", operator=True, roles=(), sub="olga@fluid.example")
    unconfirmed = execute(app, REMOVE, operator, {"slug": tenant.slug, "confirm": "something-else"}).data
    assert unconfirmed is not None and unconfirmed["removeOrganisation"]["__typename"] == "InvalidInput"
    unknown = execute(app, REMOVE, operator, {"slug": "no-such-org", "confirm": "no-such-org"}).data
    assert unknown == {"removeOrganisation": {"__typename": "NotFound", "message": "no organisation 'no-such-org'"}}
    assert rows_by_table(app, owner)["scim_user"] > 0

    monkeypatch.setattr(mutations, "REMOVAL_BATCHES_PER_CALL", 2)
    answers = []
    for _ in range(50):
        result = execute(app, REMOVE, operator, variables)
        assert result.errors is None, result.errors
        answer = result.data["removeOrganisation"]  # type: ignore[index]
        answers.append(answer)
        if answer["completed"]:
            break
    assert len(answers) > 2 and not answers[0]["completed"]
    assert answers[0]["secretsDestroyed"] == 3 and answers[0]["rowsDeleted"] > 0
    assert all(answer["organisationId"] == str(owner) for answer in answers)
    assert answers[-1]["completed"] and answers[-1]["completedBy"] == "admin:olga@fluid.example"
    assert set(rows_by_table(app, owner).values()) == {0}
    assert vault_secrets(vault, owner) == []
    after = execute(app, REMOVE, operator, variables).data
    assert after is not None and after["removeOrganisation"]["__typename"] == "NotFound"
    assert "it was removed on" in after["removeOrganisation"]["message"]


def test_remove_organisation_answers_unavailable_while_vault_is_down_and_finishes_when_called_again(
    app: Flask, vault_resumed: Vault
) -> None:
    vault = vault_resumed
    tenant = make_tenant(app)
    owner = organisation_id(app, tenant.slug)
    operator = claims_for("ops", operator=True, roles=(), sub="olga@fluid.example")
    variables = {"slug": tenant.slug, "confirm": tenant.slug}

    pause(vault)
    stopped = execute(app, REMOVE, operator, variables).data
    assert stopped is not None and stopped["removeOrganisation"]["__typename"] == "Unavailable"
    message = stopped["removeOrganisation"]["message"]
    assert "the key vault is unavailable" in message and "again finishes it" in message
    assert vault.addr.split("//")[1] not in message  # the Vault address is for operators' logs only
    assert rows_by_table(app, owner)["organisation"] == 1

    vault.resume()
    finished = execute(app, REMOVE, operator, variables).data
    assert finished is not None and finished["removeOrganisation"]["completed"] is True
    assert set(rows_by_table(app, owner).values()) == {0}
    assert vault_secrets(vault, owner) == []


# -- export ---------------------------------------------------------------------------------------------


def test_org_export_writes_what_the_scim_api_and_the_history_answer(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant(app)
    made = populate(app, client, tenant)
    manager = made["user_ids"][1]
    patched = scim(client, tenant, "PATCH", f"/Users/{made['user_ids'][2]}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": manager}}],
    })
    assert patched.status_code in (200, 204), patched.get_json()
    monkeypatch.setattr(offboarding, "EXPORT_BATCH", 2)  # several keyset batches of users
    output = tmp_path / "export.jsonl"

    exported = runner.invoke(args=["org", "export", tenant.slug, "--output", str(output)])
    history = runner.invoke(args=["audit", "export", tenant.slug, "--since", "2000-01-01"])

    assert exported.exit_code == 0 and history.exit_code == 0, exported.output
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [line["type"] for line in lines] == sorted((line["type"] for line in lines), key=("user", "group", "event").index)
    by_type: dict[str, list[dict[str, Any]]] = {"user": [], "group": [], "event": []}
    for line in lines:
        assert set(line) == {"type", "data"}
        by_type[line["type"]].append(line["data"])
    assert f"exported 3 user(s), 2 group(s), {len(by_type['event'])} event(s) of {tenant.slug}" in exported.stderr
    # The history: every event, as the audit export writes it.
    assert by_type["event"] == [json.loads(line) for line in history.stdout.splitlines()]
    assert {event["operation"] for event in by_type["event"]} >= {"user.created", "group.created", "user.deleted"}
    # Users and groups: exactly what the SCIM API answers for each (read after the export).
    listed = scim(client, tenant, "GET", "/Users?count=100").get_json()
    assert sorted(user["id"] for user in by_type["user"]) == sorted(user["id"] for user in listed["Resources"])
    for user in by_type["user"]:
        assert user == scim(client, tenant, "GET", f"/Users/{user['id']}").get_json()
    managed = next(user for user in by_type["user"] if user["id"] == made["user_ids"][2])
    assert managed[ENTERPRISE]["manager"]["value"] == manager
    assert any(user.get("groups") for user in by_type["user"]) and any(CUSTOM in user for user in by_type["user"])
    listed_groups = scim(client, tenant, "GET", "/Groups?count=100").get_json()
    assert len(by_type["group"]) == listed_groups["totalResults"] == 2  # Engineering and the access group
    for group in by_type["group"]:
        assert group == scim(client, tenant, "GET", f"/Groups/{group['id']}").get_json()


def test_an_export_that_fails_halfway_leaves_no_partial_file(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = make_tenant(app)
    output = tmp_path / "export.jsonl"
    output.write_text("the export of last week\n", encoding="utf-8")

    def failing(**_: Any) -> Iterator[tuple[str, str]]:
        yield "user", '{"type": "user", "data": {}}\n'
        raise OperationalError("SELECT …", {}, Exception("the database went away"))

    monkeypatch.setattr(offboarding, "export_organisation", failing)
    exported = runner.invoke(args=["org", "export", tenant.slug, "--output", str(output)])

    assert exported.exit_code != 0 and isinstance(exported.exception, OperationalError)
    assert output.read_text(encoding="utf-8") == "the export of last week\n"
    assert [path.name for path in tmp_path.iterdir()] == ["export.jsonl"]


def test_org_export_writes_to_stdout_and_refuses_an_unknown_organisation(app: Flask, runner: FlaskCliRunner) -> None:
    tenant = make_tenant(app)
    exported = runner.invoke(args=["org", "export", tenant.slug])
    assert exported.exit_code == 0, exported.output
    kinds = [json.loads(line)["type"] for line in exported.stdout.splitlines()]
    assert kinds and set(kinds) <= {"group", "event"}  # the access group, and the organisation's creation
    unknown = runner.invoke(args=["org", "export", "no-such-org"])
    assert unknown.exit_code == 1 and "no organisation 'no-such-org'; nothing was exported" in unknown.output
