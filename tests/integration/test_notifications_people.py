"""People's notices against a real SecantusDB, identity running in this process (its
DirectoryService, with the operator's credential) and the development message sink (SMTP
and the SMS centre's HTTP): whom an event is told to, on the channels each chose, once.

Identity's users are written straight into its database (as other identity integration
tests do): registration's codes are not what is under test here.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
import uvicorn
from aiosmtpd.smtp import SMTP

from deploy.devsink import Inbox, MailHandler, create_http_app
from services.identity.domain import Assignment, Preferences, User
from services.identity.store.preferences import PreferenceStore as IdentityPreferences
from services.identity.store.users import UserStore
from services.kit.context import Caller, caller_var
from services.kit.delivery import HttpSmsCentre, SmtpMailSender
from services.kit.errors import InvalidArgument, PermissionDenied
from services.kit.events import Event
from services.kit.mongo import Transactions, connect_mongo
from services.notifications.domain.people_notices import BALANCE_LOW, FINANCIAL_BLOCK, Choice
from services.notifications.grpc_api.preferences import NotificationPreferencesServicer
from services.notifications.service.people_directory import IdentityDirectory
from services.notifications.service.people_notices import NoticeSender, PeopleNotices
from services.notifications.service.preferences import NotificationPreferences
from services.notifications.store.notices import ANNOUNCEMENTS, NOTICES, NoticeStore
from services.notifications.store.preferences import PreferenceStore
from tests.support.kit import eventually
from tests.support.system import unused_port
from vm.identity.v1 import directory_pb2, directory_pb2_grpc
from vm.notifications.v1 import notifications_pb2, resources_pb2

pytestmark = pytest.mark.integration


@dataclass
class Sink:
    http: str
    smtp_port: int

    async def messages(self, to: str) -> list[dict]:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{self.http}/messages", params={"to": to})
        return answer.json()["items"]


@pytest.fixture(scope="module")
async def sink() -> AsyncIterator[Sink]:
    """deploy/devsink.py's inbox, SMTP handler and HTTP app, served here on free ports."""
    smtp_port, http_port = unused_port(), unused_port()
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(
        lambda: SMTP(MailHandler(inbox), hostname="devsink"), "127.0.0.1", smtp_port
    )
    config = uvicorn.Config(
        create_http_app(inbox), host="127.0.0.1", port=http_port, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    opened = Sink(f"http://127.0.0.1:{http_port}", smtp_port)

    async def listening() -> bool:
        try:
            await opened.messages("nobody@example.ru")
        except httpx.HTTPError:
            return False
        return True

    await eventually(listening, timeout=20, interval=0.1, what="the dev sink listening")
    yield opened
    server.should_exit = True
    await task
    smtp.close()


@dataclass
class Notifications:
    store: NoticeStore
    preferences: PreferenceStore
    reaction: PeopleNotices
    transactions: Transactions
    directory: IdentityDirectory

    def sender(self, sink: Sink, smtp_port: int | None = None) -> NoticeSender:
        return NoticeSender(
            self.store,
            self.preferences,
            self.directory,
            mail=SmtpMailSender(
                "127.0.0.1", smtp_port or sink.smtp_port, "vm@vm.example", timeout=2
            ),
            sms=HttpSmsCentre(f"{sink.http}/sms"),
            retry_pause=timedelta(seconds=30),
            max_attempts=3,
        )

    async def react(self, *events: Event) -> None:
        """The events as one run of the consumer's (a batch of deliveries)."""
        await self.transactions.run(lambda session: self.reaction(events, session))


@pytest.fixture
async def notifications(settings, identity, module_settings) -> AsyncIterator[Notifications]:
    mongo = connect_mongo(settings.mongo_url, app_name="notifications-tests")
    db = mongo.get_database(settings.database_name("notifications"))
    store, preferences = NoticeStore(db), PreferenceStore(db)
    await store.ensure_indexes()
    await preferences.ensure_indexes()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{identity.server.port}")
    directory = IdentityDirectory(channel, module_settings.operator_token.get_secret_value())
    yield Notifications(store, preferences, PeopleNotices(store), Transactions(mongo), directory)
    await channel.close()
    await mongo.close()


@dataclass(frozen=True)
class Company:
    id: str
    admin: User  # global_admin, login = the main number (reached by SMS there)
    accountant: User  # accountant, company-wide
    manager: User  # department_manager scoped to one node
    starter: User  # telecom_admin: started an operation


def _email(tag: str) -> str:
    return f"{tag}.{secrets.token_hex(4)}@firm.example"


async def company(identity, locale_of_accountant: str = "ru") -> Company:
    users, prefs = UserStore(identity.db), IdentityPreferences(identity.db)
    company_id = f"cmp_{secrets.token_hex(5)}"
    now = datetime.now(UTC)
    main_number = "7916" + str(secrets.randbelow(10**7)).zfill(7)

    def user(login: str, role: str, node: str | None = None) -> User:
        return User(
            id=f"usr_{secrets.token_hex(6)}",
            company_id=company_id,
            login=login,
            full_name=login,
            email=_email(login[:5]),
            password_hash="x",
            created_at=now,
            assignments=(Assignment(role, node),),
        )

    made = Company(
        company_id,
        admin=user(main_number, "global_admin"),
        accountant=user(f"buh{secrets.token_hex(4)}", "accountant"),
        manager=user(f"mgr{secrets.token_hex(4)}", "department_manager", "node_moscow"),
        starter=user(f"tel{secrets.token_hex(4)}", "telecom_admin"),
    )
    for each in (made.admin, made.accountant, made.manager, made.starter):
        await users.insert(each)
    await prefs.save(company_id, made.accountant.id, Preferences((), locale_of_accountant), now)
    return made


def event(company_id: str, event_type: str, data: dict, **extra) -> Event:
    return Event(
        id=f"evt_{secrets.token_hex(8)}",
        type=event_type,
        source="/services/billing",
        time=datetime.now(UTC),
        data=data,
        company_id=company_id,
        **extra,
    )


def balance_low(company_id: str) -> Event:
    return event(
        company_id,
        "account.balance_low",
        {
            "company_id": company_id,
            "account_id": "acc_1",
            "account_number": "ЛС-0000001234",
            "balance": "99999",
            "threshold": "100000",
        },
    )


def person(user: User) -> Caller:
    return Caller(kind="user", company_id=user.company_id, user_id=user.id, token="t")


async def test_the_directory_answers_the_operator_only(identity, module_settings):
    firm = await company(identity)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{identity.server.port}") as channel:
        stub = directory_pb2_grpc.DirectoryServiceStub(channel)
        request = directory_pb2.ListCompanyPeopleRequest(
            company_id=firm.id, permission="finance.view"
        )
        operator = (
            ("authorization", f"Operator {module_settings.operator_token.get_secret_value()}"),
        )
        answer = await stub.ListCompanyPeople(request, metadata=operator)
        limits = await stub.ListCompanyPeople(
            directory_pb2.ListCompanyPeopleRequest(company_id=firm.id, permission="numbers.limits"),
            metadata=operator,
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ListCompanyPeople(request)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    wide = {p.user_id: p.company_wide for p in answer.people}
    assert wide == {firm.admin.id: True, firm.accountant.id: True}
    wide = {p.user_id: p.company_wide for p in limits.people}
    assert wide == {firm.admin.id: True, firm.starter.id: True, firm.manager.id: False}
    admin = next(p for p in answer.people if p.user_id == firm.admin.id)
    assert admin.phone == firm.admin.login and admin.email == firm.admin.email


async def test_finance_viewers_are_told_on_the_channels_they_chose(notifications, identity, sink):
    firm = await company(identity, locale_of_accountant="en")
    other = await company(identity)
    choices = NotificationPreferences(notifications.preferences)
    # The administrator adds SMS; the accountant keeps the defaults (e-mail only).
    await choices.choose(person(firm.admin), [Choice(BALANCE_LOW, email=True, sms=True)])
    low = balance_low(firm.id)
    await notifications.react(low, low)  # twice in one run of deliveries
    await notifications.react(low)  # the broker handed it over again

    sender = notifications.sender(sink)
    assert await sender.send_due(datetime.now(UTC)) == 3

    admin_mail = await sink.messages(firm.admin.email)
    admin_sms = await sink.messages(firm.admin.login)
    accountant_mail = await sink.messages(firm.accountant.email)
    assert [m["subject"] for m in admin_mail] == ["Лицевой счёт ЛС-0000001234: баланс ниже порога"]
    assert "999,99 ₽" in admin_mail[0]["text"] and "1 000,00 ₽" in admin_mail[0]["text"]
    assert [m["channel"] for m in admin_sms] == ["sms"]
    assert [m["subject"] for m in accountant_mail] == ["Account ЛС-0000001234: the balance is low"]
    # A subtree's viewer, a telecom administrator and another company's people: nothing.
    for nobody in (firm.manager, firm.starter, other.admin, other.accountant):
        assert await sink.messages(nobody.email) == []
    assert await sink.messages(other.admin.login) == []
    # One notice per (event, user, channel), though the reaction ran twice.
    notices = await notifications.store.of_event(firm.id, low.id)
    assert sorted((n.user_id, n.channel) for n in notices) == sorted(
        [(firm.admin.id, "email"), (firm.admin.id, "sms"), (firm.accountant.id, "email")]
    )
    assert await sender.send_due(datetime.now(UTC)) == 0


async def test_a_user_who_turned_email_off_gets_none(notifications, identity, sink):
    firm = await company(identity)
    choices = NotificationPreferences(notifications.preferences)
    await choices.choose(person(firm.accountant), [Choice(FINANCIAL_BLOCK, email=False, sms=False)])
    exhausted = event(
        firm.id,
        "account.balance_exhausted",
        {"account_id": "acc_9", "account_number": "ЛС-9", "balance": "-100"},
    )
    await notifications.react(exhausted)
    assert await notifications.sender(sink).send_due(datetime.now(UTC)) == 1
    assert await sink.messages(firm.accountant.email) == []
    (mail,) = await sink.messages(firm.admin.email)
    assert mail["text"].startswith(
        "Лицевой счёт ЛС-9: баланс исчерпан, номера заблокированы (финансовая блокировка)"
    )


async def test_an_operation_is_told_to_who_started_it_only(notifications, identity, sink):
    firm = await company(identity)
    finished = event(
        firm.id,
        "operation.finished",
        {
            "operation": {
                "id": "op_1",
                "title": "Смена тарифного плана",
                "status": "OPERATION_STATUS_SUCCEEDED",
                "total": 3,
                "done": 3,
                "failed": 0,
                "created_by": firm.starter.id,
            }
        },
        actor="system",
        actor_kind="system",
    )
    await notifications.react(finished)
    assert await notifications.sender(sink).send_due(datetime.now(UTC)) == 1
    (mail,) = await sink.messages(firm.starter.email)
    assert "«Смена тарифного плана» выполнена" in mail["subject"]
    assert await sink.messages(firm.admin.email) == []


async def test_events_people_are_not_told_of_record_nothing(notifications, identity):
    firm = await company(identity)
    await notifications.react(
        event(firm.id, "payment.received", {"amount": "100"}),
        event(firm.id, "ticket.status_changed", {"status": "closed"}),
    )
    db = notifications.store._announcements.database
    assert await db[ANNOUNCEMENTS].count_documents({"company_id": firm.id}) == 0


async def test_a_failed_send_is_tried_again_later_and_sent_once(notifications, identity, sink):
    firm = await company(identity)
    await notifications.react(balance_low(firm.id))
    now = datetime.now(UTC)
    closed_port = unused_port()  # nothing listens: the mail server is away
    assert await notifications.sender(sink, smtp_port=closed_port).send_due(now) == 0
    db = notifications.store._notices.database
    pending = await db[NOTICES].find({"company_id": firm.id}).to_list()
    assert [(n["state"], n["attempts"]) for n in pending] == [("pending", 1), ("pending", 1)]
    working = notifications.sender(sink)
    assert await working.send_due(now + timedelta(seconds=5)) == 0  # the pause holds
    # Two workers at once: each notice is claimed by one of them.
    later = now + timedelta(seconds=31)
    sent = await asyncio.gather(working.send_due(later), notifications.sender(sink).send_due(later))
    assert sum(sent) == 2
    assert len(await sink.messages(firm.admin.email)) == 1
    assert len(await sink.messages(firm.accountant.email)) == 1
    states = await db[NOTICES].find({"company_id": firm.id}).to_list()
    assert [n["state"] for n in states] == ["sent", "sent"]


async def test_choices_default_to_email_and_are_a_persons_own(notifications, identity):
    firm = await company(identity)
    choices = NotificationPreferences(notifications.preferences)
    mine = await choices.mine(person(firm.accountant))
    assert len(mine) == 7 and all(c.email and not c.sms for c in mine)
    await choices.choose(person(firm.accountant), [Choice(BALANCE_LOW, email=False, sms=True)])
    after = {c.kind: c for c in await choices.mine(person(firm.accountant))}
    assert after[BALANCE_LOW] == Choice(BALANCE_LOW, email=False, sms=True)
    assert after[FINANCIAL_BLOCK] == Choice(FINANCIAL_BLOCK)
    # Another user of the company still has the defaults.
    assert all(c.email and not c.sms for c in await choices.mine(person(firm.admin)))
    with pytest.raises(InvalidArgument):
        await choices.choose(person(firm.admin), [Choice("weather")])
    api_key = Caller(kind="api_key", company_id=firm.id, user_id="key_1", token="t")
    with pytest.raises(PermissionDenied):
        await choices.mine(api_key)


async def test_the_servicer_answers_the_callers_own_choices(notifications, identity):
    firm = await company(identity)
    servicer = NotificationPreferencesServicer(NotificationPreferences(notifications.preferences))
    token = caller_var.set(person(firm.accountant))
    try:
        chosen = await servicer.SetMyNotifications(
            notifications_pb2.SetMyNotificationsRequest(
                choices=[resources_pb2.NotificationChoice(kind="file_ready", email=False, sms=True)]
            ),
            None,
        )
        again = await servicer.GetMyNotifications(
            notifications_pb2.GetMyNotificationsRequest(), None
        )
    finally:
        caller_var.reset(token)
    assert list(chosen.choices) == list(again.choices)
    by_kind = {c.kind: (c.email, c.sms) for c in again.choices}
    assert by_kind["file_ready"] == (False, True) and by_kind["ticket_answered"] == (True, False)
    assert len(by_kind) == 7


async def test_the_workers_loop_sends_until_stopped(notifications, identity, sink):
    firm = await company(identity)
    stop = asyncio.Event()
    running = asyncio.create_task(notifications.sender(sink).run(stop, poll=0.05))
    try:
        await notifications.react(balance_low(firm.id))

        async def told() -> bool:
            return len(await sink.messages(firm.accountant.email)) == 1

        await eventually(told, timeout=20, what="the accountant told by the loop")
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)
    assert running.done() and running.exception() is None


async def test_an_accounts_numbers_are_not_kept_with_its_announcement(notifications, identity):
    firm = await company(identity)
    exhausted = event(
        firm.id,
        "account.balance_exhausted",
        {"account_number": "ЛС-1", "balance": "0", "msisdns": ["79160000001"] * 5_000},
    )
    await notifications.react(exhausted)
    db = notifications.store._announcements.database
    (kept,) = await db[ANNOUNCEMENTS].find({"company_id": firm.id}).to_list()
    assert kept["data"] == {"account_number": "ЛС-1", "balance": "0"}
    assert kept["company_wide"] == ["finance.view"] and kept["kind"] == FINANCIAL_BLOCK
