"""AutomationService: the company's automation rules and their runs, proto ⇄ use case.

`automation_registrar` is what the composition root adds to the server's registrars.
"""

from __future__ import annotations

from typing import TypeAlias

import grpc

from services.kit.context import current_caller
from services.kit.grpc_server import Registrar, full_methods
from services.notifications.grpc_api.automation_convert import (
    changes_from,
    draft_from,
    rule_message,
    run_message,
)
from services.notifications.service.automation import AutomationCases
from vm.notifications.v1 import notifications_pb2 as api
from vm.notifications.v1 import notifications_pb2_grpc as api_grpc

Context: TypeAlias = grpc.aio.ServicerContext

SERVICE_NAME = api.DESCRIPTOR.services_by_name["AutomationService"].full_name
# A repeat of CreateRule with the same Idempotency-Key answers the first rule.
REPLAYABLE_METHODS = full_methods(SERVICE_NAME, "CreateRule")


class AutomationServicer(api_grpc.AutomationServiceServicer):
    def __init__(self, cases: AutomationCases) -> None:
        self._cases = cases

    async def CreateRule(
        self, request: api.CreateRuleRequest, context: Context
    ) -> api.CreateRuleResponse:
        rule = await self._cases.create_rule(current_caller(), draft_from(request))
        return api.CreateRuleResponse(rule=rule_message(rule))

    async def ListRules(
        self, request: api.ListRulesRequest, context: Context
    ) -> api.ListRulesResponse:
        found, next_token = await self._cases.list_rules(
            current_caller(), request.page_size, request.page_token
        )
        return api.ListRulesResponse(
            rules=[rule_message(r) for r in found], next_page_token=next_token
        )

    async def GetRule(self, request: api.GetRuleRequest, context: Context) -> api.GetRuleResponse:
        rule = await self._cases.get_rule(current_caller(), request.rule_id)
        return api.GetRuleResponse(rule=rule_message(rule))

    async def UpdateRule(
        self, request: api.UpdateRuleRequest, context: Context
    ) -> api.UpdateRuleResponse:
        rule = await self._cases.update_rule(
            current_caller(), request.rule_id, changes_from(request)
        )
        return api.UpdateRuleResponse(rule=rule_message(rule))

    async def DeleteRule(
        self, request: api.DeleteRuleRequest, context: Context
    ) -> api.DeleteRuleResponse:
        await self._cases.delete_rule(current_caller(), request.rule_id)
        return api.DeleteRuleResponse()

    async def ListRuleRuns(
        self, request: api.ListRuleRunsRequest, context: Context
    ) -> api.ListRuleRunsResponse:
        found, next_token = await self._cases.list_runs(
            current_caller(), request.rule_id, request.page_size, request.page_token
        )
        return api.ListRuleRunsResponse(
            runs=[run_message(r) for r in found], next_page_token=next_token
        )


def automation_registrar(cases: AutomationCases) -> Registrar:
    """(add_AutomationServiceServicer_to_server, servicer): one more of `registrars`."""
    return (api_grpc.add_AutomationServiceServicer_to_server, AutomationServicer(cases))
