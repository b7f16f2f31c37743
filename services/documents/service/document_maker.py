"""The documents worker's part for financial documents: make each (account, type) document
of an operation, then mail them.

For each target: the account's ledger entries of the period (billing, operator's
credential) give the figures; the document is recorded with its number in one transaction
(the number exists exactly when the document does: no gaps); then its PDF is made from
the record and stored in GridFS. A worker that dies midway leaves recorded documents
behind: the next claim finds them (one per operation, account and type) and keeps their
numbers, making only the files that are missing.

Then the PDFs go by e-mail, to the request's address or, without one, to each account's
bill-delivery address when that is e-mail. Mail is sent at least once: a worker that dies
after sending and before the operation ends sends it again on the next claim. A mail
server that does not answer (after a few tries) fails that recipient's result alone: the
documents stay made and downloadable.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from services.documents.domain import documents as rules
from services.documents.domain.periods import Period
from services.documents.domain.requisites import OPERATOR, Requisites
from services.documents.peers import AccountFacts, OperatorPeers
from services.documents.render.documents import DocumentSheet, NumberCharges, document_pdf
from services.documents.render.pdf import CONTENT_TYPE
from services.documents.service.documents import file_url, target_of
from services.documents.service.jobs import target_result
from services.documents.store.documents import DocumentStore
from services.documents.store.files import GeneratedFiles
from services.kit.delivery import Attachment, MailSender
from services.kit.errors import DomainError, NotFound, Unavailable
from services.kit.ids import new_id
from services.kit.mongo import Transactions
from services.kit.operation_status import FAILED, SUCCEEDED
from vm.common.v1 import common_pb2

log = logging.getLogger(__name__)

Doc = dict[str, Any]
MAIL_TRIES = 3


@dataclass(frozen=True)
class Made:
    """One target's outcome: its result, and the document when it was made."""

    result: common_pb2.OperationTargetResult
    document: Doc | None = None


class DocumentMaker:
    def __init__(
        self,
        store: DocumentStore,
        files: GeneratedFiles,
        peers: OperatorPeers,
        transactions: Transactions,
        mail: MailSender | None,
    ) -> None:
        self._store = store
        self._files = files
        self._peers = peers
        self._tx = transactions
        self._mail = mail

    async def make(self, job: Doc, period: Period) -> AsyncIterator[Made]:
        """Each target's outcome in the order of the request."""
        request = job["request"]
        company = await self._peers.company(job["company_id"])
        accounts = await self._peers.accounts(job["company_id"])
        seq = 0
        for account_id in request["account_ids"]:
            statement: rules.Figures | None = None
            for doc_type in request["types"]:
                seq += 1
                target = target_of(account_id, doc_type)
                try:
                    account = accounts.get(account_id)
                    if account is None:
                        raise NotFound("the account is closed or not found")
                    if statement is None:
                        statement = await self._figures(job["company_id"], account_id, period)
                    document = await self._document(
                        job, account, doc_type, period, company, statement
                    )
                except DomainError as error:
                    code = error.reason.lower()
                    yield Made(target_result(target, FAILED, code, error.message, seq))
                    continue
                detail = f"{document['title']} № {document['number']}"
                yield Made(target_result(target, SUCCEEDED, "made", detail, seq), document)

    async def _figures(self, company_id: str, account_id: str, period: Period) -> rules.Figures:
        statement = await self._peers.statement(
            company_id, account_id, period.start.isoformat(), period.end.isoformat()
        )
        return rules.figures(statement.opening_balance, statement.entries)

    async def _document(
        self,
        job: Doc,
        account: AccountFacts,
        doc_type: str,
        period: Period,
        company: Requisites,
        figures: rules.Figures,
    ) -> Doc:
        document = await self._store.of_operation(job["_id"], account.id, doc_type)
        if document is None:
            document = await self._record(job, account, doc_type, period, figures)
        if document.get("file"):
            return document
        numbers = (
            await self._by_number(job["company_id"], account.id, period)
            if doc_type == rules.BILL_DETAIL
            else ()
        )
        sheet = DocumentSheet(
            type=doc_type,
            number=document["number"],
            day=document["created_at"].date(),
            period=period,
            buyer=company,
            account_number=account.number,
            figures=figures,
            numbers=numbers,
            seller=OPERATOR,
        )
        content = document_pdf(sheet)
        name = f"{doc_type}-{document['year']}-{document['seq']:06d}.pdf"
        await self._files.discard(document["_id"])  # what a write that died left
        stored = await self._files.put(
            document["_id"],
            name,
            content,
            company_id=job["company_id"],
            owner=job["_id"],
            content_type=CONTENT_TYPE,
        )
        file = {
            "id": stored.id,
            "name": stored.name,
            "url": file_url(document["_id"]),
            "content_type": stored.content_type,
            "size": stored.size,
        }
        await self._store.set_file(document["_id"], file)
        return {**document, "file": file}

    async def _record(
        self, job: Doc, account: AccountFacts, doc_type: str, period: Period, figures: rules.Figures
    ) -> Doc:
        now = datetime.now(UTC)

        async def write(session: AsyncClientSession) -> Doc:
            seq = await self._store.next_number(job["company_id"], now.year, doc_type, session)
            document: Doc = {
                "_id": new_id("doc"),
                "company_id": job["company_id"],
                "operation_id": job["_id"],
                "account_id": account.id,
                "account_number": account.number,
                "type": doc_type,
                "title": rules.DOCUMENT_TYPES[doc_type].title,
                "year": now.year,
                "seq": seq,
                "number": rules.document_number(doc_type, now.year, seq),
                "period": period.as_dict(),
                "total": figures.total,
                "vat": figures.vat,
                "created_at": now,
                "file": None,
            }
            await self._store.insert(document, session)
            return document

        return await self._tx.run(write)

    async def _by_number(
        self, company_id: str, account_id: str, period: Period
    ) -> list[NumberCharges]:
        sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        async for batch in self._peers.usage(
            company_id, period.start.isoformat(), period.end.isoformat(), account_id=account_id
        ):
            for record in batch:
                sums[record.msisdn][record.kind] += record.charge
        return [NumberCharges(msisdn, dict(kinds)) for msisdn, kinds in sorted(sums.items())]

    # ------------------------------------------------------------ e-mail

    async def deliver(
        self, job: Doc, documents: Sequence[Doc], first_seq: int
    ) -> list[common_pb2.OperationTargetResult]:
        """Mail the documents; one result per recipient (`email:<address>`)."""
        if self._mail is None or not documents:
            return []
        recipients = await self._recipients(job, documents)
        results = []
        for seq, (address, theirs) in enumerate(sorted(recipients.items()), start=first_seq):
            target = f"email:{address}"
            try:
                await self._send(address, job, theirs)
            except Unavailable as error:
                code = "mail_unavailable"
                results.append(target_result(target, FAILED, code, error.message, seq))
                continue
            detail = f"отправлено документов: {len(theirs)}"
            results.append(target_result(target, SUCCEEDED, "delivered", detail, seq))
        return results

    async def _recipients(self, job: Doc, documents: Sequence[Doc]) -> dict[str, list[Doc]]:
        wanted = job["request"].get("email", "")
        if wanted:
            return {wanted: list(documents)}
        accounts = await self._peers.accounts(job["company_id"])
        by_address: dict[str, list[Doc]] = defaultdict(list)
        for document in documents:
            account = accounts.get(document["account_id"])
            if account and account.delivery_method == "email" and account.delivery_address:
                by_address[account.delivery_address.lower()].append(document)
        return by_address

    async def _send(self, address: str, job: Doc, documents: Sequence[Doc]) -> None:
        assert self._mail is not None
        attachments = [
            Attachment(
                d["file"]["name"],
                d["file"]["content_type"],
                await self._files.content(job["company_id"], d["file"]["id"]),
            )
            for d in documents
        ]
        lines = [
            f"— {d['title']} № {d['number']}, лицевой счёт {d['account_number']}" for d in documents
        ]
        text = "\n".join(
            [
                "Здравствуйте!",
                "",
                "Финансовые документы, сформированные в Виртуальном менеджере, — во вложении:",
                *lines,
                "",
                "Документы также доступны в разделе «Финансовые документы».",
            ]
        )
        subject = "Финансовые документы"
        for attempt in range(1, MAIL_TRIES + 1):
            try:
                await self._mail.send_mail(address, subject, text, attachments=attachments)
                return
            except Unavailable:
                if attempt == MAIL_TRIES:
                    raise
                await asyncio.sleep(attempt)
