"""Application forms: the list and a form's PDF, prefilled with the caller's company
details on request (asked of identity when the form is asked for). Any user of a company
may read them: they are the operator's blanks."""

from __future__ import annotations

from datetime import UTC, datetime

from services.documents.domain import forms as rules
from services.documents.domain.forms import FormTemplate
from services.documents.peers import OperatorPeers
from services.documents.render.forms import form_pdf
from services.kit.caller_access import CallerAccessResolver
from services.kit.context import Caller


class FormCases:
    def __init__(self, peers: OperatorPeers, access: CallerAccessResolver) -> None:
        self._peers = peers
        self._access = access

    async def list_forms(self, caller: Caller) -> list[FormTemplate]:
        await self._access.access(caller)
        return list(rules.FORMS.values())

    async def form_file(
        self, caller: Caller, form_id: str, prefill: bool
    ) -> tuple[FormTemplate, bytes]:
        access = await self._access.access(caller)
        template = rules.form(form_id)
        company = await self._peers.company(access.company_id) if prefill else None
        return template, form_pdf(template, company, datetime.now(UTC).date())
