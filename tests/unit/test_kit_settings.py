"""services/kit/settings.py: defaults that work locally, secrets refused outside development."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from services.kit.settings import DEV_OPERATOR_TOKEN, PRODUCTION_EXPLICIT, Settings


@pytest.fixture(autouse=True)
def no_vm_environment(monkeypatch):
    """The tests decide every setting; none leaks in from the shell that runs them."""
    for name in list(os.environ):
        if name.startswith("VM_"):
            monkeypatch.delenv(name)


# What production sets (deploy/k8s/base: config.env and the Secret vm-secrets).
PRODUCTION = {
    "VM_ENV": "prod",
    "VM_OPERATOR_TOKEN": "s3cret-from-the-vault",
    "VM_MONGO_URL": "mongodb://db1,db2,db3/?replicaSet=rs0",
    "VM_AMQP_URL": "amqp://vm:pw@rabbitmq.internal:5672/",
    "VM_IDENTITY_ADDR": "dns:///identity:15051",
    "VM_CATALOG_ADDR": "dns:///catalog:15052",
    "VM_BILLING_ADDR": "dns:///billing:15053",
    "VM_DOCUMENTS_ADDR": "dns:///documents:15054",
    "VM_TICKETS_ADDR": "dns:///tickets:15055",
    "VM_NOTIFICATIONS_ADDR": "dns:///notifications:15056",
    "VM_SMS_CENTRE_URL": "http://sms-centre.internal/sms",
    "VM_SMTP_HOST": "mail-relay.internal",
    "VM_MAIL_FROM": "Виртуальный менеджер <no-reply@operator.ru>",
}


def production(monkeypatch, **changes: str | None) -> None:
    for name, value in {**PRODUCTION, **changes}.items():
        if value is not None:
            monkeypatch.setenv(name, value)


def test_every_secret_and_peer_with_a_development_default_is_listed_for_production():
    assert {f"VM_{name.upper()}" for name in PRODUCTION_EXPLICIT} == set(PRODUCTION) - {"VM_ENV"}
    for name in PRODUCTION_EXPLICIT:
        assert name in Settings.model_fields, name


def test_production_with_the_development_operator_token_is_refused():
    with pytest.raises(ValidationError, match="VM_OPERATOR_TOKEN"):
        Settings(env="prod")


def test_production_with_the_development_operator_token_from_the_environment_is_refused(
    monkeypatch,
):
    production(monkeypatch, VM_OPERATOR_TOKEN=DEV_OPERATOR_TOKEN)
    with pytest.raises(ValidationError, match="VM_OPERATOR_TOKEN"):
        Settings()


def test_production_never_takes_an_empty_operator_token(monkeypatch):
    production(monkeypatch, VM_OPERATOR_TOKEN="")
    with pytest.raises(ValidationError, match="VM_OPERATOR_TOKEN"):
        Settings()


def test_production_refuses_to_start_naming_each_setting_left_to_its_default(monkeypatch):
    production(monkeypatch, VM_AMQP_URL=None, VM_SMTP_HOST=None, VM_MAIL_FROM=None)
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    for name in ("VM_AMQP_URL", "VM_SMTP_HOST", "VM_MAIL_FROM"):
        assert name in message
    for name in ("VM_MONGO_URL", "VM_OPERATOR_TOKEN", "VM_SMS_CENTRE_URL"):
        assert name not in message


def test_production_with_nothing_set_names_every_one(monkeypatch):
    monkeypatch.setenv("VM_ENV", "prod")
    with pytest.raises(ValidationError) as refused:
        Settings()
    for name in PRODUCTION_EXPLICIT:
        assert f"VM_{name.upper()}" in str(refused.value)


def test_a_setting_given_its_default_value_explicitly_counts_as_set(monkeypatch):
    production(monkeypatch, VM_SMTP_HOST="127.0.0.1")
    assert Settings().smtp_host == "127.0.0.1"


def test_an_empty_value_says_a_process_uses_none(monkeypatch):
    production(monkeypatch, VM_MONGO_URL="", VM_AMQP_URL="")  # the gateway
    settings = Settings()
    assert (settings.mongo_url, settings.amqp_url) == ("", "")


@pytest.mark.parametrize("env", ["dev", "test"])
def test_development_and_tests_need_none_of_them(env):
    settings = Settings(env=env)
    assert settings.amqp_url.startswith("amqp://guest:guest@127.0.0.1")


def test_production_with_a_real_operator_token_starts(monkeypatch):
    production(monkeypatch)

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
