"""`.run/dev.env`: written by `make run` for a second terminal, in development only, read only there."""

import os

import pytest
from dotenv import dotenv_values

from fluid_scim import dev_env
from fluid_scim.config import read_dotenv_if_development

NAMES = ("FLUID_DATABASE_URL", "FLUID_PUBLIC_PORT", "FLUID_BASE_DOMAIN", "FLUID_PUBLIC_SCHEME", "VAULT_ADDR", "VAULT_TOKEN")
RUNNING = {
    "FLUID_ENV": "development",
    "FLUID_DATABASE_URL": "postgresql://dev:it's\\$HOME@127.0.0.1/fluid",
    "FLUID_PUBLIC_PORT": "8123",
    "VAULT_ADDR": "http://127.0.0.1:8200",
    "VAULT_TOKEN": "dev-0123456789abcdef",
    "FLUID_METRICS_TOKEN": "not-shared",
}


@pytest.fixture
def clean_environ(monkeypatch, tmp_path):
    """No shared variable set; the working directory holds no .env; everything put back afterwards.

    (``delenv`` alone records nothing for a variable that is absent, so one that load_dotenv sets
    would outlive the test: ``setenv`` first records what to put back.)
    """
    for name in (*NAMES, "FLUID_ENV", "FLUID_DOTENV"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_written_owner_only_with_the_running_values_and_the_dev_vault(tmp_path):
    path = dev_env.write(RUNNING, with_vault=True, path=tmp_path / ".run" / "dev.env")
    assert path.stat().st_mode & 0o777 == 0o600
    assert dotenv_values(path, interpolate=False) == {name: RUNNING[name] for name in NAMES if name in RUNNING}
    assert "root token of the throw-away in-memory dev Vault" in path.read_text()

    # A Vault the developer brought is not written down; the database and port still are.
    again = dev_env.write(RUNNING, with_vault=False, path=path)
    assert set(dotenv_values(again)) == {"FLUID_DATABASE_URL", "FLUID_PUBLIC_PORT"}
    assert again.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("env", ["production", "staging"])
def test_never_written_outside_development(tmp_path, env):
    path = tmp_path / "dev.env"
    with pytest.raises(dev_env.NotDevelopment):
        dev_env.write(RUNNING | {"FLUID_ENV": env}, with_vault=True, path=path)
    assert not path.exists()


def test_the_command_line_refuses_production_and_removes(clean_environ, tmp_path, capsys):
    clean_environ.setattr(dev_env, "DEV_ENV_FILE", tmp_path / "dev.env")
    clean_environ.setenv("FLUID_ENV", "production")
    clean_environ.setenv("VAULT_TOKEN", "prod-token")
    assert dev_env.main(["write", "--vault"]) == 1
    assert "no development env file is written" in capsys.readouterr().err
    assert not (tmp_path / "dev.env").exists()
    assert dev_env.main(["remove"]) == 0
    assert dev_env.main(["bogus"]) == 2


def test_read_in_development_below_the_environment_and_above_dot_env(clean_environ, tmp_path):
    written = dev_env.write(RUNNING, with_vault=True, path=tmp_path / "dev.env")
    (tmp_path / ".env").write_text("FLUID_PUBLIC_PORT=9999\nFLUID_BASE_DOMAIN=example.test\n")
    clean_environ.setenv("VAULT_ADDR", "http://127.0.0.1:8201")
    read_dotenv_if_development(dev_env_file=written)
    assert os.environ["VAULT_ADDR"] == "http://127.0.0.1:8201"  # the real environment wins
    assert os.environ["VAULT_TOKEN"] == RUNNING["VAULT_TOKEN"]
    assert os.environ["FLUID_DATABASE_URL"] == RUNNING["FLUID_DATABASE_URL"]  # read as written: nothing expands
    assert os.environ["FLUID_PUBLIC_PORT"] == "8123"  # the running `make run` wins over .env
    assert os.environ["FLUID_BASE_DOMAIN"] == "example.test"


@pytest.mark.parametrize(("variable", "value"), [("FLUID_ENV", "production"), ("FLUID_DOTENV", "")])
def test_not_read_in_production_nor_when_dotenv_files_are_off(clean_environ, tmp_path, variable, value):
    written = dev_env.write(RUNNING, with_vault=True, path=tmp_path / "dev.env")
    clean_environ.setenv(variable, value)
    read_dotenv_if_development(dev_env_file=written)
    assert not any(name in os.environ for name in NAMES)
