"""The operator CLI (`flask org …`): org create/list, token generate/set, sync enable/disable."""

import os
import subprocess
import sys

import pytest

from fluid_scim.services import organisations, scim_tokens
from tests.support.services import ROOT

STRONG = "Zq7!pR2#vL9@kW4$mN8%tB3^hJ6&cX1*"


def test_org_create_and_list(app, runner):
    created = runner.invoke(args=["org", "create", "globex", "--name", "Globex Corporation"])
    assert created.exit_code == 0, created.output
    assert "Tenant URL: http://globex.localhost/scim/v2" in created.stderr
    runner.invoke(args=["org", "create", "initech"])
    listed = runner.invoke(args=["org", "list"])
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["SLUG", "NAME", "SYNC", "TOKEN", "TENANT", "URL"]
    assert lines[1].split()[:3] == ["globex", "Globex", "Corporation"]
    assert lines[1].split()[-3:] == ["enabled", "(none)", "http://globex.localhost/scim/v2"]
    assert lines[2].split()[:2] == ["initech", "initech"]


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Acme", "is not a valid organisation slug"),
        ("acme.corp", "is not a valid organisation slug"),
        ("-acme", "is not a valid organisation slug"),
        ("a" * 64, "is not a valid organisation slug"),
        ("www", "is reserved for Fluid's own hosts"),
    ],
)
def test_org_create_refuses_slugs_that_are_not_one_dns_label(app, runner, slug, message):
    result = runner.invoke(args=["org", "create", "--", slug])
    assert result.exit_code == 1
    assert message in result.output and "nothing was created" in result.output


def test_org_create_refuses_a_duplicate(app, runner):
    runner.invoke(args=["org", "create", "globex"])
    again = runner.invoke(args=["org", "create", "globex"])
    assert again.exit_code == 1
    assert "organisation 'globex' already exists" in again.output


def test_token_generate_prints_the_token_alone_and_replaces_the_old(app, runner):
    runner.invoke(args=["org", "create", "globex"])
    first = runner.invoke(args=["org", "token", "generate", "globex"])
    second = runner.invoke(args=["org", "token", "generate", "globex"])
    assert first.exit_code == second.exit_code == 0
    assert first.stdout.count("\n") == 1 and first.stdout.startswith("fscim_")
    assert first.stdout != second.stdout
    with app.app_context():
        organisation = organisations.get_organisation(slug="globex")
        meta = scim_tokens.token_metadata(organisation=organisation)
        key = app.extensions["fluid_secret_store"].token_digest_key()
    assert meta.fingerprint == scim_tokens.token_fingerprint(key, second.stdout.strip())
    listed = runner.invoke(args=["org", "list"]).stdout
    assert meta.fingerprint in listed


def test_token_set_reads_stdin_and_strips_one_trailing_newline(app, runner):
    runner.invoke(args=["org", "create", "globex"])
    result = runner.invoke(args=["org", "token", "set", "globex"], input=STRONG + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    with app.app_context():
        organisation = organisations.get_organisation(slug="globex")
        key = app.extensions["fluid_secret_store"].token_digest_key()
        meta = scim_tokens.token_metadata(organisation=organisation)
    assert meta.source == "entered"
    assert meta.fingerprint == scim_tokens.token_fingerprint(key, STRONG)
    assert f"fingerprint {meta.fingerprint}" in result.stderr


def test_token_set_refuses_a_weak_token_naming_the_rule(app, runner):
    runner.invoke(args=["org", "create", "globex"])
    result = runner.invoke(args=["org", "token", "set", "globex"], input="password-password-password-12345\n")
    assert result.exit_code == 1
    assert "token refused (" in result.output and "the token was not changed" in result.output
    with app.app_context():
        assert scim_tokens.token_metadata(organisation=organisations.get_organisation(slug="globex")) is None


def test_sync_disable_and_enable(app, runner):
    runner.invoke(args=["org", "create", "globex"])
    assert runner.invoke(args=["org", "sync", "disable", "globex"]).exit_code == 0
    assert "disabled" in runner.invoke(args=["org", "list"]).stdout.splitlines()[1]
    assert runner.invoke(args=["org", "sync", "enable", "globex"]).exit_code == 0
    assert "enabled" in runner.invoke(args=["org", "list"]).stdout.splitlines()[1]


@pytest.mark.parametrize(
    "args",
    [["org", "token", "generate", "nope"], ["org", "sync", "disable", "nope"], ["org", "sync", "enable", "nope"]],
)
def test_commands_on_an_unknown_organisation_fail_clearly(app, runner, args):
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert "no organisation 'nope'" in result.output


def test_real_cli_keeps_stdout_for_the_token_and_logs_on_stderr(app, settings, vault):
    """The contract scripts rely on: `TOKEN=$(flask --app app org token generate SLUG)`."""
    env = {
        **os.environ,
        "FLUID_DATABASE_URL": settings["database_url"],
        "VAULT_ADDR": vault.addr,
        "VAULT_TOKEN": vault.token,
    }
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "org", "create", "umbrella"], cwd=ROOT, env=env, check=True, capture_output=True)
    result = subprocess.run(
        [*flask, "org", "token", "generate", "umbrella"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and token.startswith("fscim_")
    assert token not in result.stderr


def test_a_bad_setting_stops_the_cli_with_one_line(tmp_path):
    env = {**os.environ, "FLUID_TRUST_PROXY": "maybe"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "org", "list"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "fluid-scim: configuration error: FLUID_TRUST_PROXY must be true, false or a proxy hop count from 1 to 5; got 'maybe'"
    ]
