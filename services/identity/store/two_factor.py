"""Users' two-factor settings (with the TOTP secret) and the logins waiting for a code.

The settings live apart from the user document so that no code path that reads or
answers with a user can carry the secret along. Both collections are keyed by ids that
only identity makes; settings are always read with the user's company.
"""

from __future__ import annotations

from dataclasses import replace

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.identity.domain.two_factor import MFA_MAX_ATTEMPTS, MfaChallenge, TwoFactor
from services.identity.store.mapping import from_doc, to_doc


class TwoFactorStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._settings = db["two_factor"]
        self._challenges = db["mfa_challenges"]

    async def ensure_indexes(self) -> None:
        await self._settings.create_index("company_id")
        await self._challenges.create_index("expires_at", expireAfterSeconds=0)

    # ---------------------------------------------------------------- settings

    async def get(self, company_id: str, user_id: str) -> TwoFactor | None:
        doc = await self._settings.find_one({"_id": user_id, "company_id": company_id})
        return from_doc(TwoFactor, doc)

    async def save_pending(self, settings: TwoFactor) -> bool:
        """Stores a new pending enrolment unless two-factor login was turned on meanwhile."""
        doc = to_doc(settings)
        try:
            result = await self._settings.update_one(
                {"_id": settings.id, "company_id": settings.company_id, "secret": None},
                {"$set": {k: v for k, v in doc.items() if k != "_id"}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # it exists with a secret: turned on meanwhile
        return result.matched_count == 1 or result.upserted_id is not None

    async def replace_if_step(
        self, before: TwoFactor, after: TwoFactor, session: AsyncClientSession
    ) -> bool:
        """Compare-and-set on the last accepted step: of two requests with the same code
        only one gets through, and nothing changed in between is overwritten."""
        result = await self._settings.replace_one(
            {
                "_id": before.id,
                "company_id": before.company_id,
                "last_step": before.last_step,
                "secret": before.secret,
                "pending_secret": before.pending_secret,
            },
            to_doc(after),
            session=session,
        )
        return result.modified_count == 1

    async def delete_if_step(self, before: TwoFactor, session: AsyncClientSession) -> bool:
        result = await self._settings.delete_one(
            {"_id": before.id, "company_id": before.company_id, "last_step": before.last_step},
            session=session,
        )
        return result.deleted_count == 1

    # ---------------------------------------------------------------- logins waiting for a code

    async def insert_challenge(self, challenge: MfaChallenge) -> None:
        await self._challenges.insert_one(to_doc(challenge))

    async def get_challenge(self, digest: str) -> MfaChallenge | None:
        return from_doc(MfaChallenge, await self._challenges.find_one({"_id": digest}))

    async def count_attempt(self, challenge: MfaChallenge) -> MfaChallenge | None:
        """One more code attempt (atomic), unless the challenge was used or its attempts
        ran out meanwhile; None then."""
        result = await self._challenges.update_one(
            {"_id": challenge.id, "used": False, "attempts": {"$lt": MFA_MAX_ATTEMPTS}},
            {"$inc": {"attempts": 1}},
        )
        if result.modified_count != 1:
            return None
        return replace(challenge, attempts=challenge.attempts + 1)

    async def use_challenge(self, challenge: MfaChallenge, session: AsyncClientSession) -> bool:
        """Marks the challenge used; False when another request used it first."""
        result = await self._challenges.update_one(
            {"_id": challenge.id, "used": False},
            {"$set": {"used": True}},
            session=session,
        )
        return result.modified_count == 1
