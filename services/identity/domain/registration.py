"""Registration of a company's global administrator with an SMS code and an e-mail code."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.identity.domain.companies import Company, normalize_email
from services.kit.errors import InvalidArgument, NotAllowed
from services.kit.phone import normalize_msisdn

CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=10)
MAX_CODE_ATTEMPTS = 5


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def code_digest(registration_id: str, channel: str, code: str) -> str:
    """Codes are stored only as a keyed digest bound to their registration and channel."""
    message = f"{registration_id}:{channel}:{code.strip()}".encode()
    return hashlib.sha256(message).hexdigest()


@dataclass(frozen=True)
class Registration:
    """A pending registration of a company's global administrator.

    `company_id` is None when the number and e-mail matched no company awaiting
    registration: such a registration looks the same from outside but can never succeed,
    so the public endpoint does not reveal which main numbers are customers.
    """

    id: str
    company_id: str | None
    main_number: str
    email: str
    sms_code_digest: str
    email_code_digest: str
    expires_at: datetime
    attempts: int = 0
    completed: bool = False

    def ensure_open(self, now: datetime) -> None:
        if self.completed or now >= self.expires_at or self.attempts >= MAX_CODE_ATTEMPTS:
            raise NotAllowed(
                "this registration has expired or its attempts are used up; start a new one",
                reason="REGISTRATION_EXPIRED",
            )

    def try_codes(self, sms_code: str, email_code: str) -> Registration:
        """The registration after one attempt: completed when both codes match."""
        sms_ok = hmac.compare_digest(code_digest(self.id, "sms", sms_code), self.sms_code_digest)
        mail_ok = hmac.compare_digest(
            code_digest(self.id, "email", email_code), self.email_code_digest
        )
        matched = sms_ok and mail_ok and self.company_id is not None
        return replace(self, attempts=self.attempts + 1, completed=matched)


WRONG_CODES = {
    "sms_code": "the codes do not match; check both and try again",
    "email_code": "the codes do not match; check both and try again",
}


def registration_request(main_number: str, email: str) -> tuple[str, str]:
    errors: dict[str, str] = {}
    msisdn = normalize_msisdn(main_number)
    if msisdn is None:
        errors["main_number"] = "the main number must be a mobile number like 79161234567"
    normalized_email = normalize_email(email)
    if normalized_email is None:
        errors["email"] = "not an e-mail address"
    if errors:
        raise InvalidArgument("the registration request is not valid", errors)
    return msisdn or "", normalized_email or ""


def company_accepts_registration(company: Company | None, email: str) -> bool:
    return (
        company is not None
        and not company.registered
        and bool(company.contact_email)
        and company.contact_email.lower() == email.lower()
    )
