"""Automation rules against the real MongoDB-protocol server, RabbitMQ, and identity and
catalog running in this process: a rule "when limit.reached on a number within <node>, block
it and e-mail an address" fired by a public event, run by the runner with its owner's
rights (identity's IssueRuleToken), the block made by catalog as the owner and said to be a
rule's doing; the run's operation with its per-number results in the outbox. Also: a
rule's own events fire nothing, the throttle, a paused owner, a condition that does not
hold, one run per rule and event, two runners never on one firing."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf import json_format
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.billing import main as billing_main
from services.catalog import main as catalog_main
from services.identity import domain as identity_domain
from services.identity import main as identity_main
from services.identity.store.users import UserStore
from services.kit.auth import CallerAuthenticator, TokenVerifier
from services.kit.authz import Access
from services.kit.context import Caller
from services.kit.delivery import Attachment
from services.kit.errors import InvalidArgument, NotFound, PermissionDenied, read_remote_error
from services.kit.events import Event
from services.kit.grpc_server import AccessPolicy, create_server
from services.kit.identity_keys import identity_key_source
from services.kit.mongo import Transactions, connect_mongo
from services.kit.outbox import Outbox
from services.kit.runtime import ServiceRuntime
from services.kit.settings import Settings
from services.notifications.domain import rules
from services.notifications.domain.rules import (
    BlockNumbers,
    CallWebhook,
    OpenTicket,
    RuleDraft,
    SendEmail,
    SendSms,
    SetLimit,
)
from services.notifications.grpc_api.automation import (
    REPLAYABLE_METHODS,
    SERVICE_NAME,
    automation_registrar,
)
from services.notifications.service.automation import AutomationCases, RuleChanges
from services.notifications.service.automation_peers import Channels, GrpcRulePeers
from services.notifications.service.automation_runner import (
    OPERATION_UPDATED,
    AutomationRunner,
    RunnerStores,
)
from services.notifications.service.endpoints import add_endpoint
from services.notifications.store.deliveries import DeliveryStore
from services.notifications.store.endpoints import EndpointStore
from services.notifications.store.rule_runs import RunStore
from services.notifications.store.rules import RuleStore
from services.tickets import main as tickets_main
from tests.support.kit import eventually, outbox_events
from tests.support.requisites import random_inn
from tests.support.servers import free_port, namespace
from vm.billing.v1 import limits_pb2, limits_pb2_grpc
from vm.catalog.v1 import (
    hierarchy_pb2,
    hierarchy_pb2_grpc,
    numbers_pb2,
    numbers_pb2_grpc,
    tariffs_pb2,
    tariffs_pb2_grpc,
)
from vm.common.v1 import common_pb2
from vm.identity.v1 import companies_pb2, companies_pb2_grpc, trust_pb2, trust_pb2_grpc
from vm.notifications.v1 import notifications_pb2, notifications_pb2_grpc, resources_pb2
from vm.tickets.v1 import tickets_pb2, tickets_pb2_grpc

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

TARIFF = "t_automation"
ADDRESS = "boss@example.com"


# ---------------------------------------------------------------- the services


@dataclass
class Services:
    settings: Settings
    runtimes: dict[str, ServiceRuntime]
    channels: dict[str, grpc.aio.Channel]

    @property
    def identity(self) -> ServiceRuntime:
        return self.runtimes["identity"]

    @property
    def catalog(self) -> ServiceRuntime:
        return self.runtimes["catalog"]

    @property
    def identity_channel(self) -> grpc.aio.Channel:
        return self.channels["identity"]

    @property
    def catalog_channel(self) -> grpc.aio.Channel:
        return self.channels["catalog"]

    @property
    def operator(self) -> tuple[tuple[str, str], ...]:
        token = self.settings.operator_token.get_secret_value()
        return (("authorization", f"Operator {token}"),)


@pytest.fixture(scope="module")
async def services(module_settings: Settings) -> AsyncIterator[Services]:
    # Each service finds the others at ports chosen beforehand (catalog verifies tokens with
    # identity's keys, tickets asks catalog about numbers, billing learns them from events).
    ports = {name: free_port() for name in ("identity", "catalog", "billing", "tickets")}
    settings = module_settings.model_copy(
        update={f"{name}_addr": f"127.0.0.1:{port}" for name, port in ports.items()}
    )
    runtimes: dict[str, ServiceRuntime] = {}
    for main in (identity_main, billing_main, catalog_main, tickets_main):
        runtime = await main.start(settings, address=f"127.0.0.1:{ports[main.NAME]}")
        await runtime.wait_ready(within_seconds=60)
        runtimes[main.NAME] = runtime
    channels = {
        name: grpc.aio.insecure_channel(f"127.0.0.1:{port}") for name, port in ports.items()
    }
    running = Services(settings, runtimes, channels)
    catalog_channel = running.catalog_channel
    await tariffs_pb2_grpc.TariffAdminServiceStub(catalog_channel).DefineTariff(
        tariffs_pb2.DefineTariffRequest(
            tariff=tariffs_pb2.Tariff(
                id=TARIFF,
                name="Бизнес Автоматизация",
                description="Тариф для проверки правил",
                monthly_fee=common_pb2.Money(amount=45000, currency="RUB"),
                available=True,
            )
        ),
        metadata=running.operator,
        timeout=10,
    )
    yield running
    for channel in channels.values():
        await channel.close()
    for runtime in reversed(runtimes.values()):
        await runtime.stop()


# ---------------------------------------------------------------- a company


def luhn_digit(body: str) -> str:
    total = 0
    for i, char in enumerate(reversed(body)):
        digit = int(char) * (2 if i % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return str((10 - total % 10) % 10)


def fresh_iccid() -> str:
    body = f"8970199{secrets.randbelow(10**12):012d}"
    return body + luhn_digit(body)


def fresh_msisdn() -> str:
    return f"79{secrets.randbelow(10**9):09d}"


@dataclass
class Company:
    id: str
    owner: Caller  # the owner acting for a rule: how the test sets the company up
    owner_id: str
    node_msk: str
    node_spb: str
    in_msk: str  # a number in Москва
    in_spb: str


async def a_user(services: Services, company_id: str, role_id: str) -> str:
    user = identity_domain.User(
        id=f"usr_{secrets.token_hex(6)}",
        company_id=company_id,
        login=f"rules{secrets.token_hex(4)}",
        full_name="Правила Тестов",
        email=f"{secrets.token_hex(4)}@owner.example",
        password_hash="not-for-login",
        created_at=datetime.now(UTC),
        assignments=(identity_domain.Assignment(role_id),),
    )
    await UserStore(services.identity.db).insert(user)
    return user.id


async def acting(services: Services, company_id: str, user_id: str, rule_id: str) -> Caller:
    issued = await trust_pb2_grpc.TrustServiceStub(services.identity_channel).IssueRuleToken(
        trust_pb2.IssueRuleTokenRequest(company_id=company_id, user_id=user_id, rule_id=rule_id),
        metadata=services.operator,
        timeout=10,
    )
    return Caller(
        kind="user",
        company_id=company_id,
        user_id=user_id,
        session_id=rule_id,
        token=issued.access_token,
        rule_id=rule_id,
    )


def bearer(caller: Caller) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {caller.token}"),)


@pytest.fixture
async def company(services: Services) -> Company:
    created = await companies_pb2_grpc.CompanyServiceStub(services.identity_channel).CreateCompany(
        companies_pb2.CreateCompanyRequest(
            name=f'ООО "Правила {secrets.token_hex(3)}"',
            inn=random_inn(),
            contract_number=f"R-{secrets.token_hex(4)}",
            main_number=fresh_msisdn(),
            contact_email=f"{secrets.token_hex(4)}@company.example",
        ),
        metadata=services.operator,
        timeout=10,
    )
    company_id = created.company.id
    owner_id = await a_user(services, company_id, "global_admin")
    owner = await acting(services, company_id, owner_id, "rul_setup")
    hierarchy = hierarchy_pb2_grpc.HierarchyServiceStub(services.catalog_channel)

    async def root() -> str:
        # Catalog knows the company once identity's event reached it.
        try:
            tree = await hierarchy.GetHierarchy(
                hierarchy_pb2.GetHierarchyRequest(), metadata=bearer(owner), timeout=10
            )
        except grpc.aio.AioRpcError:
            return ""
        return tree.nodes[0].id if tree.nodes else ""

    await eventually(root, timeout=30, interval=0.1, what="catalog knows the company")
    root_id = await root()

    async def node(name: str) -> str:
        made = await hierarchy.CreateNode(
            hierarchy_pb2.CreateNodeRequest(parent_id=root_id, name=name, kind="city"),
            metadata=bearer(owner),
            timeout=10,
        )
        return made.node.id

    msk, spb = await node("Москва"), await node("Санкт-Петербург")
    in_msk, in_spb = fresh_msisdn(), fresh_msisdn()
    await numbers_pb2_grpc.NumberAdminServiceStub(services.catalog_channel).AddNumbers(
        numbers_pb2.AddNumbersRequest(
            company_id=company_id,
            numbers=[
                numbers_pb2.NewNumber(
                    msisdn=in_msk, iccid=fresh_iccid(), tariff_id=TARIFF, node_id=msk
                ),
                numbers_pb2.NewNumber(
                    msisdn=in_spb, iccid=fresh_iccid(), tariff_id=TARIFF, node_id=spb
                ),
            ],
        ),
        metadata=services.operator,
        timeout=30,
    )
    return Company(company_id, owner, owner_id, msk, spb, in_msk, in_spb)


async def blocks_of(services: Services, company: Company, msisdn: str) -> set[str]:
    number = await numbers_pb2_grpc.NumberServiceStub(services.catalog_channel).GetNumber(
        numbers_pb2.GetNumberRequest(msisdn=msisdn), metadata=bearer(company.owner), timeout=10
    )
    return {block.type for block in number.number.blocks}


# ---------------------------------------------------------------- notifications' side


@dataclass
class Mailbox:
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    async def send_mail(
        self, to: str, subject: str, text: str, *, attachments: Sequence[Attachment] = ()
    ) -> None:
        self.sent.append((to, subject, text))


@dataclass
class SmsCentre:
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send_sms(self, to: str, text: str, *, reference: str = "") -> None:
        self.sent.append((to, text))


@dataclass
class Notifications:
    db: AsyncDatabase
    transactions: Transactions
    cases: AutomationCases
    runner: AutomationRunner
    mailbox: Mailbox
    sms: SmsCentre
    rules: RuleStore
    runs: RunStore
    peers: GrpcRulePeers
    stores: RunnerStores

    def another_runner(self) -> AutomationRunner:
        return AutomationRunner(
            self.stores,
            self.peers,
            SmsCentre(),
            self.mailbox,
            self.transactions,
            Outbox(self.db),
        )

    async def fire(self, *events: Event) -> None:
        """The events as one run of the consumer's (a batch of deliveries)."""
        await self.transactions.run(lambda session: self.cases.on_public_events(events, session))

    async def outcomes(self, rule: rules.AutomationRule) -> list[str]:
        found = await self.runs.page(rule.company_id, rule.id, None, 100)
        return [run.outcome for run in found]


@pytest.fixture
async def mongo(mongo_server) -> AsyncIterator[AsyncMongoClient]:
    client: AsyncMongoClient = connect_mongo(mongo_server.url, app_name="automation-tests")
    yield client
    await client.close()


@pytest.fixture
async def notifications(services: Services, mongo: AsyncMongoClient) -> Notifications:
    db = mongo.get_database(f"{namespace()}_notifications")
    transactions = Transactions(mongo)
    stores = RunnerStores(RuleStore(db), RunStore(db), EndpointStore(db), DeliveryStore(db))
    peers = GrpcRulePeers(
        Channels(
            identity=services.identity_channel,
            catalog=services.catalog_channel,
            billing=services.channels["billing"],
            tickets=services.channels["tickets"],
        ),
        services.settings.operator_token.get_secret_value(),
    )
    cases = AutomationCases(stores.rules, stores.runs, peers, firings_per_minute=3)
    await cases.ensure_indexes()
    await stores.deliveries.ensure_indexes()
    mailbox, sms = Mailbox(), SmsCentre()
    runner = AutomationRunner(stores, peers, sms, mailbox, transactions, Outbox(db))
    return Notifications(
        db, transactions, cases, runner, mailbox, sms, stores.rules, stores.runs, peers, stores
    )


async def a_rule(
    notifications: Notifications, company: Company, condition: str | None = None
) -> rules.AutomationRule:
    condition = f'node within "{company.node_msk}"' if condition is None else condition
    rule = await notifications.cases.create_rule(
        company.owner,
        RuleDraft(
            name="Лимит в Москве",
            trigger="limit.reached",
            condition=condition,
            actions=(
                BlockNumbers("voluntary"),
                SendEmail((), (ADDRESS,), "Лимит", "Номер заблокирован правилом"),
            ),
        ),
    )
    return rule


def limit_reached(company: Company, msisdn: str, actor_kind: str = "system") -> Event:
    return Event(
        id=secrets.token_hex(8),
        type="limit.reached",
        source="/services/billing",
        time=datetime.now(UTC),
        data={
            "company_id": company.id,
            "msisdn": msisdn,
            "kind": "total",
            "action": "notify",
            "limit": "100000",
            "spent": "100500",
        },
        company_id=company.id,
        actor="system",
        actor_kind=actor_kind,
    )


async def operation_events(db: AsyncDatabase) -> list[Event]:
    return await outbox_events(db, {"type": OPERATION_UPDATED})


def now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- the tests


async def test_a_rule_blocks_the_number_as_its_owner_and_e_mails_the_address(
    services, company, notifications
):
    rule = await a_rule(notifications, company)

    await notifications.fire(limit_reached(company, company.in_msk))
    assert await notifications.outcomes(rule) == ["pending"]
    assert await notifications.runner.run_due(now()) == 1

    assert "voluntary" in await blocks_of(services, company, company.in_msk)
    assert [to for to, _, _ in notifications.mailbox.sent] == [ADDRESS]
    [run] = await notifications.runs.page(company.id, rule.id, None, 10)
    assert (run.outcome, run.status) == ("ran", "succeeded")

    [event] = await operation_events(notifications.db)
    assert (event.actor, event.actor_kind) == (company.owner_id, "rule")
    update = json_format.ParseDict(event.data, common_pb2.OperationUpdated())
    assert update.operation.id == run.operation_id
    assert update.operation.title == "Правило автоматизации: Лимит в Москве"
    assert (update.operation.service, update.operation.type) == ("notifications", "automation_rule")
    assert {(r.target, r.status) for r in update.results} == {
        (company.in_msk, "succeeded"),
        (f"email:{ADDRESS}", "succeeded"),
    }

    # Catalog's own event of the block says a rule caused it: it fires no rule in turn.
    async def blocked_by_the_rule() -> bool:
        for told in await outbox_events(
            services.catalog.db, {"type": "vm.catalog.number.blocked.v1"}
        ):
            if told.data.get("msisdn") == company.in_msk:
                return told.actor_kind == "rule"
        return False

    await eventually(blocked_by_the_rule, what="catalog's event of the rule's block")


async def test_a_number_the_action_fails_on_is_a_failed_result_of_the_operation(
    company, notifications
):
    rule = await a_rule(notifications, company, condition="")
    elsewhere = fresh_msisdn()  # not the company's: catalog does not find it
    await notifications.fire(limit_reached(company, elsewhere))
    assert await notifications.runner.run_due(now()) == 1
    [run] = await notifications.runs.page(company.id, rule.id, None, 10)
    assert (run.outcome, run.status) == ("ran", "partially_failed")
    [event] = await operation_events(notifications.db)
    update = json_format.ParseDict(event.data, common_pb2.OperationUpdated())
    results = {r.target: (r.status, r.code) for r in update.results}
    assert results == {
        elsewhere: ("failed", "not_found"),
        f"email:{ADDRESS}": ("succeeded", "sent"),
    }
    assert update.operation.failed == 1 and update.operation.total == 2


async def test_a_rule_sets_a_limit_opens_a_ticket_and_sends_an_sms_as_its_owner(
    services, company, notifications
):
    limits = limits_pb2_grpc.SpendingLimitServiceStub(services.channels["billing"])

    async def billing_knows_the_number() -> bool:
        try:
            await limits.ListSpendingLimits(
                limits_pb2.ListSpendingLimitsRequest(msisdn=company.in_msk),
                metadata=bearer(company.owner),
                timeout=10,
            )
        except grpc.aio.AioRpcError:
            return False
        return True

    await eventually(billing_knows_the_number, timeout=30, interval=0.2, what="billing's number")
    rule = await notifications.cases.create_rule(
        company.owner,
        RuleDraft(
            name="Перерасход",
            trigger="limit.reached",
            condition='kind == "total" and spent > 100000',
            actions=(
                SetLimit("data", 50_000, "block"),
                OpenTicket("billing", "Перерасход", "Номер превысил лимит"),
                SendSms((), (company.in_spb,), "Номер превысил лимит"),
            ),
        ),
    )
    await notifications.fire(limit_reached(company, company.in_msk))
    assert await notifications.runner.run_due(now()) == 1

    [run] = await notifications.runs.page(company.id, rule.id, None, 10)
    assert (run.outcome, run.status) == ("ran", "succeeded"), run.detail
    set_limits = await limits.ListSpendingLimits(
        limits_pb2.ListSpendingLimitsRequest(msisdn=company.in_msk),
        metadata=bearer(company.owner),
        timeout=10,
    )
    assert {(lim.kind, lim.amount.amount, lim.action) for lim in set_limits.limits} == {
        ("data", 50_000, "block")
    }
    tickets = await tickets_pb2_grpc.TicketServiceStub(services.channels["tickets"]).ListTickets(
        tickets_pb2.ListTicketsRequest(), metadata=bearer(company.owner), timeout=10
    )
    [ticket] = tickets.tickets
    assert (ticket.subject, list(ticket.msisdns)) == ("Перерасход", [company.in_msk])
    assert notifications.sms.sent == [(company.in_spb, "Номер превысил лимит")]
    [event] = await operation_events(notifications.db)
    update = json_format.ParseDict(event.data, common_pb2.OperationUpdated())
    assert {r.target for r in update.results} == {
        company.in_msk,
        f"ticket:{ticket.id}",
        f"sms:{company.in_spb}",
    }


async def test_a_rule_hands_the_event_to_a_chosen_webhook_once(company, notifications):
    made = await add_endpoint(
        notifications.stores.endpoints,
        company.id,
        url="http://127.0.0.1:9/hooks",
        event_types=["ticket.status_changed"],  # not this event: the rule sends it anyway
        dev_mode=True,
        now=now(),
    )
    rule = await notifications.cases.create_rule(
        company.owner,
        RuleDraft(
            "В вебхук",
            "limit.reached",
            "",
            (CallWebhook(made.endpoint.id), CallWebhook("whe_gone")),
        ),
    )
    event = limit_reached(company, company.in_msk)
    await notifications.fire(event)
    assert await notifications.runner.run_due(now()) == 1

    [delivery] = await notifications.stores.deliveries.of_endpoint(company.id, made.endpoint.id)
    assert (delivery.message_id, delivery.event_type) == (f"msg_{event.id}", "limit.reached")
    [run] = await notifications.runs.page(company.id, rule.id, None, 10)
    assert run.status == "partially_failed"
    [told] = await operation_events(notifications.db)
    update = json_format.ParseDict(told.data, common_pb2.OperationUpdated())
    assert {r.target: r.code for r in update.results} == {
        f"webhook:{made.endpoint.id}": "queued",
        "webhook:whe_gone": "not_found",
    }


async def test_an_event_a_rule_caused_fires_no_rule(company, notifications):
    rule = await a_rule(notifications, company)
    await notifications.fire(limit_reached(company, company.in_msk, actor_kind="rule"))
    assert await notifications.outcomes(rule) == []
    assert await notifications.runner.run_due(now()) == 0


async def test_a_rule_fires_once_per_event(company, notifications):
    rule = await a_rule(notifications, company)
    event = limit_reached(company, company.in_msk)
    await notifications.fire(event)
    await notifications.fire(event)
    assert await notifications.outcomes(rule) == ["pending"]


async def test_a_run_of_events_fires_as_they_would_one_by_one(company, notifications):
    rule = await a_rule(notifications, company)
    events = [limit_reached(company, company.in_msk) for _ in range(4)]
    caused = limit_reached(company, company.in_msk, actor_kind="rule")

    # One run: an event twice (delivered again), one a rule caused, one more than the limit.
    await notifications.fire(events[0], events[1], events[0], caused, events[2], events[3])
    await notifications.fire(*events)  # the whole run again: nothing new

    runs, _ = await notifications.cases.list_runs(company.owner, rule.id, 100, "")
    assert sorted((run.event.id, run.outcome) for run in runs) == sorted(
        [(e.id, "pending") for e in events[:3]] + [(events[3].id, "throttled")]
    )
    assert len((await notifications.rules.firing_on(company.id, rule.trigger))[0][1]) == 3


async def test_past_the_limit_a_minute_firings_are_throttled_not_queued(company, notifications):
    rule = await a_rule(notifications, company)
    for _ in range(5):
        await notifications.fire(limit_reached(company, company.in_spb))
    outcomes = await notifications.outcomes(rule)
    assert sorted(outcomes) == ["pending"] * 3 + ["throttled"] * 2

    # The rule's runs, newest first, page after page.
    first, token = await notifications.cases.list_runs(company.owner, rule.id, 2, "")
    second, token = await notifications.cases.list_runs(company.owner, rule.id, 2, token)
    third, token = await notifications.cases.list_runs(company.owner, rule.id, 2, token)
    paged = first + second + third
    assert len({run.id for run in paged}) == 5 and token == ""
    assert [run.at for run in paged] == sorted((run.at for run in paged), reverse=True)


async def test_a_condition_that_does_not_hold_skips_the_run(services, company, notifications):
    rule = await a_rule(notifications, company)
    await notifications.fire(limit_reached(company, company.in_spb))
    assert await notifications.runner.run_due(now()) == 1
    [run] = await notifications.runs.page(company.id, rule.id, None, 10)
    assert (run.outcome, run.operation_id) == ("skipped", "")
    assert "voluntary" not in await blocks_of(services, company, company.in_spb)
    assert notifications.mailbox.sent == []
    assert await operation_events(notifications.db) == []


async def test_an_owner_who_lost_a_permission_finds_the_rule_paused(
    services, company, notifications
):
    rule = await a_rule(notifications, company)
    # The owner is now an accountant: no numbers.blocks, no automation.manage.
    await services.identity.db["users"].update_one(
        {"_id": company.owner_id},
        {"$set": {"assignments": [{"role_id": "accountant", "node_id": None}]}},
    )
    await notifications.fire(limit_reached(company, company.in_msk))

    async def ran() -> bool:
        # identity's answers about a caller are kept a few seconds by the resolver
        await notifications.runner.run_due(now())
        return await notifications.outcomes(rule) == ["paused"]

    await eventually(ran, timeout=20, interval=0.5, what="the run paused")
    paused = await notifications.rules.get(company.id, rule.id)
    assert "numbers.blocks" in paused.paused_reason and not paused.is_active
    assert "voluntary" not in await blocks_of(services, company, company.in_msk)
    # A paused rule fires no more.
    await notifications.fire(limit_reached(company, company.in_msk))
    assert await notifications.outcomes(rule) == ["paused"]


async def test_an_owner_who_is_gone_finds_the_rule_paused(services, company, notifications):
    rule = await a_rule(notifications, company)
    await services.identity.db["users"].update_one(
        {"_id": company.owner_id}, {"$set": {"status": identity_domain.USER_DEACTIVATED}}
    )
    await notifications.fire(limit_reached(company, company.in_msk))
    assert await notifications.runner.run_due(now()) == 1
    assert await notifications.outcomes(rule) == ["paused"]
    paused = await notifications.rules.get(company.id, rule.id)
    assert paused.paused_reason == rules.OWNER_GONE


async def test_two_runners_never_run_one_firing(company, notifications):
    await a_rule(notifications, company)
    await notifications.fire(limit_reached(company, company.in_msk))
    done = await asyncio.gather(
        notifications.runner.run_due(now()), notifications.another_runner().run_due(now())
    )
    assert sorted(done) == [0, 1]
    assert len(notifications.mailbox.sent) == 1


# ---------------------------------------------------------------- identity's rule tokens


async def test_a_rule_token_is_the_operators_to_ask_for_an_active_user_only(services, company):
    trust = trust_pb2_grpc.TrustServiceStub(services.identity_channel)
    request = trust_pb2.IssueRuleTokenRequest(
        company_id=company.id, user_id=company.owner_id, rule_id="rul_x"
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await trust.IssueRuleToken(request, metadata=bearer(company.owner), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED

    gone = trust_pb2.IssueRuleTokenRequest(company_id=company.id, user_id="usr_nobody", rule_id="r")
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await trust.IssueRuleToken(gone, metadata=services.operator, timeout=10)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    await services.identity.db["users"].update_one(
        {"_id": company.owner_id}, {"$set": {"status": identity_domain.USER_DEACTIVATED}}
    )
    with pytest.raises(grpc.aio.AioRpcError) as inactive:
        await trust.IssueRuleToken(request, metadata=services.operator, timeout=10)
    assert read_remote_error(inactive.value).reason == "USER_NOT_ACTIVE"


async def test_a_rule_token_has_its_owners_access_without_a_session(services, company):
    caller = await acting(services, company.id, company.owner_id, "rul_y")
    access = await trust_pb2_grpc.TrustServiceStub(services.identity_channel).GetCallerAccess(
        trust_pb2.GetCallerAccessRequest(), metadata=bearer(caller), timeout=10
    )
    assert access.company_id == company.id
    assert "numbers.blocks" in {p for s in access.scopes for p in s.permissions}


# ---------------------------------------------------------------- managing rules


class GivenAccess:
    """What each caller may do, as identity would say (the rules' use cases ask it)."""

    def __init__(self, **by_user: Access) -> None:
        self._by_user = by_user

    async def access(self, caller: Caller) -> Access:
        return self._by_user[caller.user_id or ""]


ADMIN = frozenset({"automation.manage", "numbers.blocks", "numbers.sms", "tickets.manage"})


def person(user_id: str, company_id: str = "cmp_a") -> Caller:
    return Caller(kind="user", company_id=company_id, user_id=user_id, session_id="ses", token="t")


@pytest.fixture
def managed(mongo: AsyncMongoClient) -> AutomationCases:
    db = mongo.get_database(f"{namespace()}_notifications")
    given = GivenAccess(
        admin=Access("cmp_a", {None: ADMIN}),
        deputy=Access("cmp_a", {None: ADMIN}),
        mailer=Access("cmp_a", {None: frozenset({"automation.manage"})}),
        clerk=Access("cmp_a", {None: frozenset({"numbers.blocks"})}),
        stranger=Access("cmp_b", {None: ADMIN}),
    )
    return AutomationCases(RuleStore(db), RunStore(db), given)


def block_rule(name: str = "Блокировка") -> RuleDraft:
    return RuleDraft(name, "number.unblocked", "", (BlockNumbers("voluntary"),))


async def test_rules_are_created_read_listed_changed_and_deleted(managed):
    admin = person("admin")
    first = await managed.create_rule(admin, block_rule("Первое"))
    second = await managed.create_rule(admin, block_rule("Второе"))
    assert (first.owner_id, first.company_id) == ("admin", "cmp_a")
    assert await managed.get_rule(admin, first.id) == first

    page, token = await managed.list_rules(admin, 1, "")
    rest, last = await managed.list_rules(admin, 1, token)
    assert [r.id for r in page + rest] == [first.id, second.id] and token
    assert (await managed.list_rules(admin, 1, last))[0] == []

    changed = await managed.update_rule(
        person("deputy"), first.id, RuleChanges(name="Переименовано", enabled=False)
    )
    assert (changed.name, changed.enabled, changed.owner_id) == ("Переименовано", False, "deputy")
    assert changed.trigger == first.trigger and changed.version == first.version + 1

    await managed.delete_rule(admin, first.id)
    with pytest.raises(NotFound):
        await managed.get_rule(admin, first.id)


async def test_another_companys_rule_is_not_found(managed):
    rule = await managed.create_rule(person("admin"), block_rule())
    stranger = person("stranger", "cmp_b")
    for call in (
        managed.get_rule(stranger, rule.id),
        managed.update_rule(stranger, rule.id, RuleChanges(name="Чужое")),
        managed.delete_rule(stranger, rule.id),
        managed.list_runs(stranger, rule.id, 0, ""),
    ):
        with pytest.raises(NotFound):
            await call
    assert (await managed.list_rules(stranger, 0, ""))[0] == []


async def test_only_a_person_with_automation_manage_manages_rules(managed):
    with pytest.raises(PermissionDenied):
        await managed.create_rule(person("clerk"), block_rule())
    key = Caller(kind="api_key", company_id="cmp_a", user_id="admin", token="t")
    with pytest.raises(PermissionDenied):
        await managed.create_rule(key, block_rule())


async def test_nobody_saves_a_rule_that_does_what_they_may_not(managed):
    with pytest.raises(PermissionDenied):
        await managed.create_rule(person("mailer"), block_rule())
    mail = RuleDraft("Письмо", "payment.received", "amount >= 100", (MAIL_ACTION,))
    rule = await managed.create_rule(person("mailer"), mail)
    with pytest.raises(PermissionDenied):
        await managed.update_rule(
            person("mailer"), rule.id, RuleChanges(actions=(BlockNumbers("voluntary"),))
        )


async def test_a_wrong_rule_is_refused_naming_its_fields(managed):
    with pytest.raises(InvalidArgument) as raised:
        await managed.create_rule(
            person("admin"), RuleDraft("", "limit.reached", "node within", ())
        )
    assert {"name", "condition", "actions"} <= set(raised.value.fields)


MAIL_ACTION = SendEmail((), (ADDRESS,), "Платёж", "Пришёл платёж")


# ---------------------------------------------------------------- the gRPC surface


async def test_rules_through_the_automation_service_with_the_owners_token(
    services, company, notifications
):
    verifier = TokenVerifier(
        identity_key_source(services.identity_channel),
        issuer=services.settings.jwt_issuer,
        audience=services.settings.jwt_audience,
    )
    authenticator = CallerAuthenticator(
        verifier, services.settings.operator_token.get_secret_value()
    )
    server = create_server(
        "127.0.0.1:0",
        [automation_registrar(notifications.cases)],
        [SERVICE_NAME],
        authenticator,
        AccessPolicy(replayable_methods=REPLAYABLE_METHODS),
    )
    await server.server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = notifications_pb2_grpc.AutomationServiceStub(channel)
            action = resources_pb2.RuleAction(
                set_limit=resources_pb2.SetLimitAction(kind="total", amount=500000, action="block")
            )
            created = await stub.CreateRule(
                notifications_pb2.CreateRuleRequest(
                    name=" Лимит ",
                    trigger="limit.reached",
                    condition="spent>=500000",
                    actions=[action],
                    enabled=True,
                ),
                metadata=bearer(company.owner),
                timeout=10,
            )
            rule = created.rule
            assert (rule.name, rule.condition, rule.owner_id) == (
                "Лимит",
                "spent >= 500000",
                company.owner_id,
            )
            assert list(rule.actions) == [action]
            updated = await stub.UpdateRule(
                notifications_pb2.UpdateRuleRequest(rule_id=rule.id, enabled=False),
                metadata=bearer(company.owner),
                timeout=10,
            )
            assert not updated.rule.enabled and updated.rule.condition == rule.condition
            runs = await stub.ListRuleRuns(
                notifications_pb2.ListRuleRunsRequest(rule_id=rule.id),
                metadata=bearer(company.owner),
                timeout=10,
            )
            assert list(runs.runs) == []
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.CreateRule(
                    notifications_pb2.CreateRuleRequest(name="x", trigger="nope"),
                    metadata=bearer(company.owner),
                    timeout=10,
                )
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await stub.GetRule(
                    notifications_pb2.GetRuleRequest(rule_id="rul_nope"),
                    metadata=bearer(company.owner),
                    timeout=10,
                )
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await server.server.stop(None)


async def test_the_runners_loop_runs_what_is_due_until_stopped(company, notifications):
    rule = await a_rule(notifications, company)
    looping = asyncio.create_task(notifications.runner.run(poll=0.05))
    try:
        await notifications.fire(limit_reached(company, company.in_msk))

        async def ran() -> bool:
            return await notifications.outcomes(rule) == ["ran"]

        await eventually(ran, what="the loop ran the firing")
    finally:
        notifications.runner.stop()
        await asyncio.wait_for(looping, timeout=10)


async def test_messages_to_users_reach_them_through_identitys_directory(
    services, company, notifications
):
    owner = await services.identity.db["users"].find_one({"_id": company.owner_id})
    rule = await notifications.cases.create_rule(
        company.owner,
        RuleDraft(
            "Сообщить людям",
            "limit.reached",
            "",
            (SendEmail((company.owner_id, "usr_nobody"), (), "Лимит", "Достигнут лимит"),),
        ),
    )
    await notifications.fire(limit_reached(company, company.in_msk))
    assert await notifications.runner.run_due(now()) == 1
    assert [to for to, _, _ in notifications.mailbox.sent] == [owner["email"]]
    [run] = await notifications.runs.page(company.id, rule.id, None, 10)
    assert run.status == "partially_failed"  # nobody is known as usr_nobody
