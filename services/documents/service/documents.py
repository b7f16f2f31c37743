"""Financial documents' use cases: the types, a request (checked, its accounts found among
the company's, then handed to the worker as one operation whose targets are the (account,
type) pairs), the list of documents made, and a document's file.

Financial documents need `documents.finance`, a company-level permission: whoever holds
it sees every account of the company, so the worker may read billing with the operator's
credential for exactly the accounts the request named.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from services.documents.domain import documents as rules
from services.documents.domain.periods import checked_period
from services.documents.peers import OperatorPeers
from services.documents.service.jobs import JobCases, new_job, operation_message, target_result
from services.documents.store.documents import DocumentStore
from services.documents.store.files import GeneratedFiles, StoredFile
from services.kit.caller_access import CallerAccessResolver
from services.kit.context import Caller
from services.kit.errors import NotFound
from services.kit.idempotency import checked_idempotency_key, request_digest
from services.kit.operation_status import PENDING
from services.kit.paging import decode_page_token, encode_page_token, page_size
from vm.common.v1 import common_pb2

Doc = dict[str, Any]


def target_of(account_id: str, doc_type: str) -> str:
    """An operation's target: one document of one account."""
    return f"{account_id}:{doc_type}"


def file_url(document_id: str) -> str:
    return f"/api/v1/documents/{document_id}/file"


class DocumentCases:
    def __init__(
        self,
        jobs: JobCases,
        documents: DocumentStore,
        files: GeneratedFiles,
        peers: OperatorPeers,
        access: CallerAccessResolver,
    ) -> None:
        self._jobs = jobs
        self._documents = documents
        self._files = files
        self._peers = peers
        self._access = access

    def types(self) -> list[rules.DocumentType]:
        return list(rules.DOCUMENT_TYPES.values())

    async def request_documents(
        self,
        caller: Caller,
        *,
        account_ids: Sequence[str],
        types: Sequence[str],
        period: tuple[str, str, str],
        email: str,
        idempotency_key: str,
    ) -> common_pb2.Operation:
        checked = rules.checked_request(account_ids, types, email)
        when = checked_period(*period, datetime.now(UTC).date())
        key = checked_idempotency_key(idempotency_key)
        request: Doc = {
            "account_ids": list(checked.account_ids),
            "types": list(checked.types),
            "period": when.as_dict(),
            "email": checked.email,
        }
        digest = request_digest(request)
        access = await self._access.access(caller)
        access.require(rules.PERMISSION)
        if replayed := await self._jobs.replay(access.company_id, key, digest):
            return operation_message(replayed)
        accounts = await self._peers.accounts(access.company_id)
        unknown = [a for a in checked.account_ids if a not in accounts]
        if unknown:
            raise NotFound(f"{len(unknown)} of the accounts are not found among yours")
        titles = {t: rules.DOCUMENT_TYPES[t].title for t in checked.types}
        pending = [
            target_result(
                target_of(account_id, doc_type),
                PENDING,
                "",
                f"{titles[doc_type]}, лицевой счёт {accounts[account_id].number}",
                seq,
            )
            for seq, (account_id, doc_type) in enumerate(
                ((a, t) for a in checked.account_ids for t in checked.types), start=1
            )
        ]
        job = new_job(
            caller,
            access.company_id,
            kind=rules.OPERATION_TYPE,
            title=rules.OPERATION_TITLE,
            permission=rules.PERMISSION,
            total=len(pending),
            request=request,
            key=key,
            digest=digest,
        )
        return operation_message(await self._jobs.create(job, pending))

    async def list_documents(
        self, caller: Caller, account_id: str, doc_type: str, size: int, token: str
    ) -> tuple[list[Doc], str]:
        limit = page_size(size)
        access = await self._access.access(caller)
        access.require(rules.PERMISSION)
        after = decode_page_token(token)
        found = await self._documents.page(
            access.company_id,
            account_id=account_id.strip(),
            doc_type=doc_type.strip(),
            after=(datetime.fromisoformat(after[0]), after[1]) if after else None,
            limit=limit,
        )
        last = found[-1] if len(found) == limit else None
        next_token = (
            encode_page_token([last["created_at"].isoformat(), last["_id"]]) if last else ""
        )
        return found, next_token

    async def document_file(
        self, caller: Caller, document_id: str
    ) -> tuple[StoredFile, AsyncIterator[bytes]]:
        access = await self._access.access(caller)
        access.require(rules.PERMISSION)
        document = await self._documents.get(access.company_id, document_id.strip())
        if document is None or not document.get("file"):
            raise NotFound("no such document (or its file was deleted after the retention period)")
        return await self._files.read(access.company_id, document["file"]["id"])
