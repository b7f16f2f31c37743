"""DirectoryService (the operator's): proto ⇄ use case, and its registration."""

from __future__ import annotations

import grpc

from services.identity.domain.directory import Person
from services.identity.service import IdentityCases
from services.identity.service.directory import DirectoryCases
from services.kit.context import current_caller
from services.kit.grpc_server import Registrar
from vm.identity.v1 import directory_pb2 as pb
from vm.identity.v1 import directory_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext

DIRECTORY_SERVICE = pb.DESCRIPTOR.services_by_name["DirectoryService"].full_name


def person_message(person: Person) -> pb.Person:
    return pb.Person(
        user_id=person.user_id,
        full_name=person.full_name,
        email=person.email,
        phone=person.phone,
        locale=person.locale,
        company_wide=person.company_wide,
    )


class DirectoryServicer(pb_grpc.DirectoryServiceServicer):
    def __init__(self, directory: DirectoryCases) -> None:
        self._directory = directory

    async def ListCompanyPeople(
        self, request: pb.ListCompanyPeopleRequest, context: Context
    ) -> pb.ListCompanyPeopleResponse:
        people, next_token = await self._directory.company_people(
            current_caller(),
            request.company_id,
            request.permission,
            list(request.user_ids),
            request.page_size,
            request.page_token,
        )
        return pb.ListCompanyPeopleResponse(
            people=[person_message(p) for p in people], next_page_token=next_token
        )


def directory_registrar(cases: IdentityCases) -> Registrar:
    return (
        pb_grpc.add_DirectoryServiceServicer_to_server,
        DirectoryServicer(DirectoryCases(cases.deps, cases.access)),
    )
