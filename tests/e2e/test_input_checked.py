"""Input checked for real, through the running system: a company's requisites with their
check digits (requisites enter only through the operator's gRPC CreateCompany: REST has
no route that takes them), and an office attachment by what its container holds."""

from __future__ import annotations

import grpc
import pytest

from services.kit.errors import read_remote_error
from tests.e2e.conftest import operator_metadata
from tests.e2e.test_identity_flows import bearer, register
from tests.e2e.test_tickets import open_ticket, upload
from tests.support.office_files import ole_with_stream, ooxml, opendocument, zip_of
from tests.support.requisites import inn10, random_inn
from vm.identity.v1 import companies_pb2 as pb
from vm.identity.v1 import companies_pb2_grpc as pb_grpc

pytestmark = pytest.mark.e2e

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
DOC = "application/msword"


def company_request(**overrides: str) -> pb.CreateCompanyRequest:
    inn = random_inn()
    fields = {
        "name": 'ООО "Проверка"',
        "inn": inn,
        "contract_number": f"C-{inn}",
        "main_number": f"79{inn[1:]}",
        "contact_email": f"admin{inn}@check.example",
        **overrides,
    }
    return pb.CreateCompanyRequest(**fields)


def wrong_check_digit(inn: str) -> str:
    return inn[:-1] + str((int(inn[-1]) + 1) % 10)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("inn", wrong_check_digit(inn10("770123456"))),
        ("inn", "7701234567"),  # the demo's INN until its check digit was computed
        ("ogrn", "1027700000001"),
        ("kpp", "77010100"),
    ],
)
async def test_a_company_with_a_requisite_that_fails_its_check_is_refused(
    system, identity_channel, field, value
):
    stub = pb_grpc.CompanyServiceStub(identity_channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateCompany(
            company_request(**{field: value}), metadata=operator_metadata(system)
        )
    error = read_remote_error(raised.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "VALIDATION_FAILED"
    assert set(error.fields) == {field}


async def test_a_company_with_valid_requisites_is_created(system, identity_channel):
    stub = pb_grpc.CompanyServiceStub(identity_channel)
    request = company_request(kpp="770101001", ogrn="1027700132195")
    created = await stub.CreateCompany(request, metadata=operator_metadata(system))
    assert created.company.inn == request.inn


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("письмо.docx", zip_of({"word/document.xml": b"<x/>"}), DOCX),  # a bare archive
        ("письмо.docx", ooxml("xlsx"), DOCX),  # a workbook in a document's clothes
        ("таблица.xlsx", ooxml("docx"), XLSX),
        ("текст.odt", opendocument("ods"), ODT),
        ("старое.doc", ole_with_stream("Workbook"), DOC),
    ],
)
async def test_a_disguised_office_file_is_refused_on_file(api, company, name, content, kind):
    admin = bearer(await register(api, company))
    ticket = await open_ticket(api, admin)
    refused = await upload(api, admin, ticket["id"], name, content, kind)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == "validation_failed"
    assert [e["field"] for e in body["errors"]] == ["file"]


async def test_real_office_files_are_taken(api, company):
    admin = bearer(await register(api, company))
    ticket = await open_ticket(api, admin)
    for name, content, kind in (
        ("письмо.docx", ooxml("docx"), DOCX),
        ("текст.odt", opendocument("odt"), ODT),
        ("старое.doc", ole_with_stream("WordDocument"), DOC),
    ):
        taken = await upload(api, admin, ticket["id"], name, content, kind)
        assert taken.status_code == 201, taken.text
        assert taken.json()["content_type"] == kind
