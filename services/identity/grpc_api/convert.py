"""Domain objects ⇄ identity's proto messages."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from services.identity.domain import Assignment, Company, Role, User
from services.identity.service.sessions import Tokens
from services.kit.authz import COMPANY_LEVEL_PERMISSIONS, Access
from vm.identity.v1 import resources_pb2 as pb


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def company_message(company: Company) -> pb.Company:
    return pb.Company(
        id=company.id,
        name=company.name,
        inn=company.inn,
        kpp=company.kpp,
        ogrn=company.ogrn,
        contract_number=company.contract_number,
        main_number=company.main_number,
        contact_email=company.contact_email,
        legal_address=company.legal_address,
        registered=company.registered,
        created_at=timestamp(company.created_at),
    )


def assignment_message(assignment: Assignment) -> pb.RoleAssignment:
    return pb.RoleAssignment(role_id=assignment.role_id, node_id=assignment.node_id or "")


def assignments_from(messages: list[pb.RoleAssignment]) -> list[Assignment]:
    return [Assignment(role_id=m.role_id, node_id=m.node_id or None) for m in messages]


_STATUS = {"active": pb.USER_STATUS_ACTIVE, "deactivated": pb.USER_STATUS_DEACTIVATED}
_STATUS_NAME = {value: name for name, value in _STATUS.items()}


def status_name(status: int) -> str | None:
    """The domain's status for a proto status; None when unspecified (no change)."""
    return _STATUS_NAME.get(status)


def user_message(user: User) -> pb.User:
    return pb.User(
        id=user.id,
        company_id=user.company_id,
        login=user.login,
        full_name=user.full_name,
        email=user.email,
        status=_STATUS.get(user.status, pb.USER_STATUS_UNSPECIFIED),
        assignments=[assignment_message(a) for a in user.assignments],
        created_at=timestamp(user.created_at),
        two_factor_enabled=user.two_factor_enabled,
        phone=user.phone,
    )


def role_message(role: Role) -> pb.Role:
    return pb.Role(
        id=role.id, name=role.name, permissions=sorted(role.permissions), preset=role.preset
    )


def scopes_message(access: Access) -> list[pb.Scope]:
    ordered = sorted(access.scopes.items(), key=lambda item: (item[0] is not None, item[0] or ""))
    return [pb.Scope(node_id=node or "", permissions=sorted(perms)) for node, perms in ordered]


def token_pair(tokens: Tokens) -> pb.TokenPair:
    return pb.TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
        token_type="Bearer",
    )


def is_company_level(permission: str) -> bool:
    return permission in COMPANY_LEVEL_PERMISSIONS
