"""Reports' use cases: the types, a request (checked, its numbers resolved with the
caller's own credential and recorded, then handed to the worker), and the file.

The worker runs later, when the caller's token may have expired: so the numbers the caller
may report on (catalog's answer, within the caller's `reports.run` reach) are recorded at
the request, and the worker reads billing with the operator's credential for exactly
those numbers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from services.documents.domain import reports as rules
from services.documents.domain.journal import visible
from services.documents.domain.periods import checked_period
from services.documents.peers import CatalogPeer, Node
from services.documents.service.jobs import JobCases, new_job, operation_message
from services.documents.store.files import GeneratedFiles, StoredFile
from services.documents.store.targets import ReportNumbers
from services.kit.caller_access import CallerAccessResolver
from services.kit.context import Caller
from services.kit.errors import NotFound, PermissionDenied
from services.kit.idempotency import checked_idempotency_key, request_digest
from vm.common.v1 import common_pb2

Doc = dict[str, Any]


def _path(node_id: str, tree: dict[str, Node]) -> list[str]:
    path: list[str] = []
    while node_id in tree and node_id not in path:
        path.append(node_id)
        node_id = tree[node_id].parent_id
    return list(reversed(path))


class ReportCases:
    def __init__(
        self,
        jobs: JobCases,
        numbers: ReportNumbers,
        files: GeneratedFiles,
        catalog: CatalogPeer,
        access: CallerAccessResolver,
    ) -> None:
        self._jobs = jobs
        self._numbers = numbers
        self._files = files
        self._catalog = catalog
        self._access = access

    def types(self) -> list[rules.ReportType]:
        return list(rules.REPORT_TYPES.values())

    async def request_report(
        self,
        caller: Caller,
        *,
        report_type: str,
        report_format: str,
        msisdns: Sequence[str],
        node_id: str,
        period: tuple[str, str, str],
        idempotency_key: str,
    ) -> common_pb2.Operation:
        checked = rules.checked_request(report_type, report_format, msisdns, node_id)
        when = checked_period(*period, datetime.now(UTC).date())
        key = checked_idempotency_key(idempotency_key)
        request: Doc = {
            "type": checked.type,
            "format": checked.format,
            "msisdns": list(checked.msisdns),
            "node_id": checked.node_id,
            "period": when.as_dict(),
        }
        digest = request_digest(request)
        access = await self._access.access(caller)
        if replayed := await self._jobs.replay(access.company_id, key, digest):
            return operation_message(replayed)
        reach = access.nodes_with(rules.PERMISSION)
        if reach is not None and not reach:
            raise PermissionDenied(f"you do not have the permission {rules.PERMISSION!r}")
        tree = await self._catalog.hierarchy(caller)
        if checked.node_id and checked.node_id not in tree:
            raise NotFound("no such node")
        found = await self._catalog.numbers(caller, checked.msisdns, checked.node_id)
        paths = {n.msisdn: _path(n.node_id, tree) for n in found}
        allowed = [n for n in found if reach is None or set(paths[n.msisdn]) & reach]
        if checked.msisdns and len(allowed) < len(found):
            raise NotFound(f"{len(found) - len(allowed)} of the numbers are not found among yours")
        if checked.node_id and reach is not None and not set(_path(checked.node_id, tree)) & reach:
            raise NotFound("no such node")
        titles = {i: " / ".join(tree[p].name for p in _path(i, tree)) for i in tree}
        request["nodes"] = {
            i: {"parent_id": n.parent_id, "title": titles[i]} for i, n in tree.items()
        }
        job = new_job(
            caller,
            access.company_id,
            kind=rules.OPERATION_TYPE,
            title=f"Отчёт: {rules.REPORT_TYPES[checked.type].title}",
            permission=rules.PERMISSION,
            total=len(allowed),
            request=request,
            key=key,
            digest=digest,
        )
        await self._numbers.put(
            job["_id"],
            [
                {
                    "msisdn": n.msisdn,
                    "iccid": n.iccid,
                    "status": "blocked" if n.status == 2 else "active",
                    "node_id": n.node_id,
                    "node": titles.get(n.node_id, ""),
                    "tariff": n.tariff.name,
                    "services": [
                        {
                            "name": s.name,
                            "connected_at": s.connected_at.ToDatetime().strftime("%Y-%m-%d")
                            if s.HasField("connected_at")
                            else "",
                        }
                        for s in n.services
                    ],
                    "account_id": n.account_id,
                    "label": n.label,
                }
                for n in allowed
            ],
        )
        return operation_message(await self._jobs.create(job))

    async def report_file(
        self, caller: Caller, report_id: str
    ) -> tuple[StoredFile, AsyncIterator[bytes]]:
        access = await self._access.access(caller)
        if access.nodes_with(rules.PERMISSION) == frozenset():
            raise PermissionDenied(f"you do not have the permission {rules.PERMISSION!r}")
        job = await self._jobs.jobs.get(access.company_id, report_id.strip())
        if job is None or job["type"] != rules.OPERATION_TYPE:
            raise NotFound("no such report")
        company_wide = access.scopes.get(None, frozenset())
        if not visible(job["created_by"], job["permission"], caller.user_id or "", company_wide):
            raise NotFound("no such report")
        if not job.get("file_id"):
            raise NotFound("the report is not ready (see its operation)")
        return await self._files.read(access.company_id, job["file_id"])
