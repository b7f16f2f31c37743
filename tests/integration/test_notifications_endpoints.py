"""Webhook endpoints against the real MongoDB-protocol server: another company's endpoint
is never found, a stale change is refused, a rotation keeps the old secret for a day,
enabling again starts a fresh failure streak, and bad URLs and event types are refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.errors import Conflict, InvalidArgument, NotFound
from services.notifications.domain.addresses import ForbiddenAddress
from services.notifications.domain.webhooks import DISABLED_BY_COMPANY, SECRET_PREFIX
from services.notifications.service.endpoints import add_endpoint, rotate_secret, set_enabled
from services.notifications.store.endpoints import EndpointStore

pytestmark = pytest.mark.integration

A, B = "cmp_a", "cmp_b"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
URL = "https://hooks.example.com/vm"


@pytest.fixture
async def store(db: AsyncDatabase) -> EndpointStore:
    made = EndpointStore(db)
    await made.ensure_indexes()
    return made


async def add(store: EndpointStore, company: str = A, url: str = URL, types=("*",)):
    return await add_endpoint(
        store,
        company,
        url=url,
        event_types=list(types),
        description=" CRM ",
        dev_mode=False,
        now=T0,
    )


async def test_an_endpoint_is_its_companys_only(store):
    added = await add(store)
    await add(store, B)

    assert (await store.get(A, added.endpoint.id)).url == URL
    with pytest.raises(NotFound):
        await store.get(B, added.endpoint.id)
    with pytest.raises(NotFound):
        await store.delete(B, added.endpoint.id)
    with pytest.raises(NotFound):
        await rotate_secret(store, B, added.endpoint.id, T0)
    assert [e.id for e in await store.of_company(A)] == [added.endpoint.id]
    assert await store.wanting(B, "number.blocked") != []

    await store.delete(A, added.endpoint.id)
    with pytest.raises(NotFound):
        await store.get(A, added.endpoint.id)


async def test_a_new_endpoint_has_a_secret_shown_once(store):
    added = await add(store)

    assert added.secret.startswith(SECRET_PREFIX)
    assert added.secret not in repr(added.endpoint)
    stored = await store.get(A, added.endpoint.id)
    assert stored.secrets.valid_at(T0) == (added.secret,)
    assert stored.description == "CRM"
    assert stored.enabled


async def test_a_rotated_secret_signs_beside_the_new_one_for_a_day(store):
    added = await add(store)
    rotated = await rotate_secret(store, A, added.endpoint.id, T0)

    stored = await store.get(A, added.endpoint.id)
    assert stored.secrets.valid_at(T0 + timedelta(hours=23)) == (rotated.secret, added.secret)
    assert stored.secrets.valid_at(T0 + timedelta(hours=24)) == (rotated.secret,)


async def test_a_change_made_from_a_stale_read_is_refused(store):
    added = await add(store)
    await store.save(replace(added.endpoint, description="first"))

    with pytest.raises(Conflict):
        await store.save(replace(added.endpoint, description="second"))
    assert (await store.get(A, added.endpoint.id)).description == "first"


async def test_switching_off_and_on(store):
    added = await add(store)
    await store.record_failure(A, added.endpoint.id, T0)

    off = await set_enabled(store, A, added.endpoint.id, False, T0)
    assert (off.enabled, off.disabled_reason, off.disabled_at) == (False, DISABLED_BY_COMPANY, T0)
    assert (await store.get(A, added.endpoint.id)).failing_since == T0  # kept by a save
    assert await store.wanting(A, "number.blocked") == []

    on = await set_enabled(store, A, added.endpoint.id, True, T0 + timedelta(hours=1))
    stored = await store.get(A, added.endpoint.id)
    assert on.enabled and stored.enabled
    assert stored.failing_since is None  # a fresh start
    assert stored.disabled_reason == ""


async def test_failing_since_keeps_the_earliest_failure(store):
    added = await add(store)
    later = await store.record_failure(A, added.endpoint.id, T0 + timedelta(minutes=5))
    earlier = await store.record_failure(A, added.endpoint.id, T0)
    again = await store.record_failure(A, added.endpoint.id, T0 + timedelta(minutes=9))

    assert later.failing_since == T0 + timedelta(minutes=5)
    assert earlier.failing_since == again.failing_since == T0
    await store.record_success(A, added.endpoint.id)
    assert (await store.get(A, added.endpoint.id)).failing_since is None


async def test_bad_urls_and_event_types_are_refused(store):
    with pytest.raises(ForbiddenAddress):
        await add(store, url="https://10.0.0.1/hook")
    with pytest.raises(InvalidArgument, match="URL"):
        await add(store, url="http://hooks.example.com/hook")  # plain http outside dev
    with pytest.raises(InvalidArgument, match="unknown events"):
        await add(store, types=("number.blocked", "number.exploded"))
    with pytest.raises(InvalidArgument):
        await add(store, types=())
    assert await store.of_company(A) == []
