"""Each surface has one table from domain errors to its answers, and every domain error is in each."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import fluid_scim
import graphql_admin
from fluid_scim import errors
from fluid_scim.cli.common import CLI_FAILURES, failures
from fluid_scim.errors import DomainError, mapping_for
from fluid_scim.scim_http.errors import SCIM_ANSWERS, scim_error_answer
from graphql_admin.errors import FAILURES, Conflict, InvalidInput, NotFound, Unavailable, WeakToken, failure_for
from tests.support.urns import ERROR_URN


def _concrete(base: type[DomainError] = DomainError) -> list[type[DomainError]]:
    found: list[type[DomainError]] = []
    for cls in base.__subclasses__():
        found += [cls, *_concrete(cls)]
    return found


# Every module is imported first, so that a domain error defined anywhere is found.
for _package in (fluid_scim, graphql_admin):
    for _module in pkgutil.walk_packages(_package.__path__, f"{_package.__name__}."):
        importlib.import_module(_module.name)
CONCRETE = _concrete()


def test_the_error_classes_are_all_defined_in_one_module() -> None:
    assert len(CONCRETE) > 30
    assert {cls.__module__ for cls in CONCRETE} == {"fluid_scim.errors"}


@pytest.mark.parametrize("cls", CONCRETE, ids=lambda cls: cls.__name__)
def test_every_domain_error_has_a_scim_answer(cls: type[DomainError]) -> None:
    assert mapping_for(SCIM_ANSWERS, cls) is not None, f"add {cls.__name__} to fluid_scim.scim_http.errors.SCIM_ANSWERS"


@pytest.mark.parametrize("cls", CONCRETE, ids=lambda cls: cls.__name__)
def test_every_domain_error_has_a_graphql_failure(cls: type[DomainError]) -> None:
    assert mapping_for(FAILURES, cls) is not None, f"add {cls.__name__} to graphql_admin.errors.FAILURES"


@pytest.mark.parametrize("cls", CONCRETE, ids=lambda cls: cls.__name__)
def test_every_domain_error_has_a_cli_failure(cls: type[DomainError]) -> None:
    assert mapping_for(CLI_FAILURES, cls) is not None, f"add {cls.__name__} to fluid_scim.cli.common.CLI_FAILURES"


def test_a_class_without_an_entry_of_its_own_inherits_its_parents() -> None:
    class Unmapped(DomainError):
        pass

    class Narrower(errors.Uniqueness):
        pass

    assert mapping_for(SCIM_ANSWERS, Unmapped) is None
    assert mapping_for(SCIM_ANSWERS, Narrower) == SCIM_ANSWERS[errors.Uniqueness]
    assert mapping_for(SCIM_ANSWERS, errors.UrlRefused) == SCIM_ANSWERS[errors.InvalidValue]


def test_scim_bodies_and_headers() -> None:
    unauthorized = scim_error_answer(errors.Unauthorized("bad token", error="invalid_token"))
    assert unauthorized.status == 401
    assert unauthorized.headers == {"WWW-Authenticate": 'Bearer realm="fluid-scim", error="invalid_token"'}
    assert unauthorized.body == {"schemas": [ERROR_URN], "status": "401", "detail": "bad token"}
    assert scim_error_answer(errors.Unauthorized("no header")).headers == {"WWW-Authenticate": 'Bearer realm="fluid-scim"'}
    assert scim_error_answer(errors.TooManyRequests("slow down", retry_after=0)).headers == {"Retry-After": "1"}
    assert scim_error_answer(errors.ServiceUnavailable("down")).headers == {"Retry-After": "30"}
    assert scim_error_answer(errors.MethodNotAllowed("no", allowed=("GET", "POST"))).headers == {"Allow": "GET, POST"}
    assert scim_error_answer(errors.MethodNotAllowed("no")).headers == {}
    uniqueness = scim_error_answer(errors.Uniqueness("taken"))
    assert (uniqueness.status, uniqueness.body["status"], uniqueness.body["scimType"]) == (409, "409", "uniqueness")
    vault = scim_error_answer(errors.SecretStoreUnavailable("Vault at http://10.0.0.5:8200 is unreachable"))
    assert vault.status == 503 and "10.0.0.5" not in vault.body["detail"]


def test_graphql_failures() -> None:
    weak = failure_for(errors.WeakToken("too short", rule="min_length"))
    assert isinstance(weak, WeakToken) and (weak.message, weak.rule) == ("too short", "min_length")
    assert isinstance(failure_for(errors.OrganisationExists("taken")), Conflict)
    assert isinstance(failure_for(errors.UrlRefused("no")), InvalidInput)
    assert isinstance(failure_for(errors.NoScimToken("organisation 'a' has no SCIM token")), NotFound)
    vault = failure_for(errors.SecretStoreUnavailable("Vault at http://10.0.0.5:8200 is unreachable"))
    assert isinstance(vault, Unavailable) and "10.0.0.5" not in vault.message
    assert failure_for(errors.InternalError("ours")) is None
    assert failure_for(RuntimeError("a bug")) is None


def test_cli_lines() -> None:
    import click

    with pytest.raises(click.ClickException) as plain, failures("nothing was changed"):
        raise errors.InvalidValue("the brake share must be between 1 and 100 percent")
    assert plain.value.format_message() == "the brake share must be between 1 and 100 percent; nothing was changed"
    assert plain.value.exit_code == 1
    with pytest.raises(click.ClickException) as weak, failures("the token was not changed"):
        raise errors.WeakToken("the token is too short", rule="min_length")
    assert weak.value.format_message() == "token refused (min_length): the token is too short; the token was not changed"
    with pytest.raises(RuntimeError), failures("nothing was changed"):
        raise RuntimeError("not a domain error")
