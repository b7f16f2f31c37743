"""services/kit/settings.py: defaults that work locally, secrets refused outside development."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from services.kit.settings import DEV_OPERATOR_TOKEN, Settings


@pytest.fixture(autouse=True)
def no_vm_environment(monkeypatch):
    """The tests decide every setting; none leaks in from the shell that runs them."""
    for name in list(os.environ):
        if name.startswith("VM_"):
            monkeypatch.delenv(name)


def test_production_with_the_development_operator_token_is_refused():
    with pytest.raises(ValidationError, match="VM_OPERATOR_TOKEN"):
        Settings(env="prod")


def test_production_with_the_development_operator_token_from_the_environment_is_refused(
    monkeypatch,
):
    monkeypatch.setenv("VM_ENV", "prod")
    monkeypatch.setenv("VM_OPERATOR_TOKEN", DEV_OPERATOR_TOKEN)
    with pytest.raises(ValidationError, match="VM_OPERATOR_TOKEN"):
        Settings()


def test_production_with_a_real_operator_token_starts(monkeypatch):
    monkeypatch.setenv("VM_ENV", "prod")
    monkeypatch.setenv("VM_OPERATOR_TOKEN", "s3cret-from-the-vault")

    settings = Settings()

    assert settings.env == "prod"
    assert settings.operator_token.get_secret_value() == "s3cret-from-the-vault"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize("env", ["dev", "test"])
def test_development_and_tests_may_use_the_default_token(env):
    assert Settings(env=env).operator_token.get_secret_value() == DEV_OPERATOR_TOKEN


def test_an_unknown_environment_is_refused():
    with pytest.raises(ValidationError):
        Settings(env="staging")


def test_environment_variables_are_read_with_the_vm_prefix(monkeypatch):
    monkeypatch.setenv("VM_AMQP_PREFIX", "t1.")
    monkeypatch.setenv("VM_MONGO_DB_PREFIX", "t1_")
    monkeypatch.setenv("VM_CATALOG_PORT", "6000")
    monkeypatch.setenv("VM_CATALOG_ADDR", "dns:///catalog:6000")

    settings = Settings()

    assert settings.events_exchange == "t1.vm.events"
    assert settings.database_name("catalog") == "t1_catalog"
    assert settings.grpc_port("catalog") == 6000
    assert settings.grpc_addr("catalog") == "dns:///catalog:6000"


def test_the_defaults_point_at_the_local_development_setup():
    settings = Settings()

    assert settings.env == "dev"
    assert settings.events_exchange == "vm.events"
    assert settings.database_name("identity") == "vm_identity"
    assert "retryWrites=false" in settings.mongo_url
