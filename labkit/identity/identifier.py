"""Communication identifiers. ACS: ``CommunicationUserIdentifier``."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

_USER_ID = re.compile(r"^8:acs:[0-9a-f-]{36}_[0-9a-f-]{36}$")


@dataclass(frozen=True, slots=True)
class CommunicationUserIdentifier:
    """A user of the communication service, as ``8:acs:<resource-id>_<uuid>``."""

    id: str

    @property
    def raw_id(self) -> str:
        """The identifier as a string (ACS ``rawId``)."""
        return self.id

    @property
    def communication_user_id(self) -> str:
        """ACS JavaScript's ``communicationUserId``."""
        return self.id

    @classmethod
    def new(cls, resource_id: str) -> CommunicationUserIdentifier:
        """Mint a fresh identity in ``resource_id``."""
        return cls(f"8:acs:{resource_id}_{uuid.uuid4()}")

    def __str__(self) -> str:
        return self.id


def is_acs_user_id(value: str) -> bool:
    """True if ``value`` has the shape of an ACS user id minted by labkit or ACS."""
    return bool(_USER_ID.match(value))
