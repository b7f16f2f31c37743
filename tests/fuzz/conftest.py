"""The fuzzer runs against the whole system, started as the end-to-end tests start it."""

from tests.e2e.conftest import api, identity_channel, system  # noqa: F401
