"""Who may use the service's HTTP API: an access code, and a rate limit on tokens per client address."""

from __future__ import annotations

import hmac
import ipaddress
from collections import OrderedDict

from ..protocol.access_code import ACCESS_CODE_ENV, ACCESS_CODE_HEADER
from .limits import ServiceLimits, TokenBucket

__all__ = ["ACCESS_CODE_ENV", "ACCESS_CODE_HEADER", "AccessPolicy", "check_exposure", "is_loopback"]
MAX_TRACKED_ADDRESSES = 10_000


def is_loopback(host: str) -> bool:
    """True for an address or name that only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, access_code: str | None, open_to_all: bool) -> None:
    """``ValueError`` saying what to do if a service on ``host`` would hand out tokens to anyone on the network."""
    if not is_loopback(host) and not access_code and not open_to_all:
        raise ValueError(
            f"on {host} the service is reachable from other machines, and anyone could take any name. "
            "Give it an access code (labkit serve --access-code CODE, then share it with your class) or, "
            "on a network you trust, say that it is open to all (--open)."
        )


class AccessPolicy:
    """The access code (if any) that ``POST /api/token`` and ``GET /api/users`` require, and the token rate."""

    def __init__(self, access_code: str | None, limits: ServiceLimits) -> None:
        self.access_code = access_code or None
        self.limits = limits
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    @property
    def requires_code(self) -> bool:
        return self.access_code is not None

    def allows(self, code: object) -> bool:
        """Whether ``code`` (from a header, the body or the query) opens the service."""
        if self.access_code is None:
            return True
        if not isinstance(code, str):
            return False
        try:
            return hmac.compare_digest(code.encode(), self.access_code.encode())
        except UnicodeEncodeError:
            return False

    def token_wait(self, address: str) -> float:
        """Seconds until ``address`` may have another token (0.0: now, and it is counted)."""
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = TokenBucket(self.limits.tokens_per_second, self.limits.token_burst)
            self._buckets[address] = bucket
            if len(self._buckets) > MAX_TRACKED_ADDRESSES:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(address)
        if bucket.try_take():
            return 0.0
        return (1.0 - bucket.tokens) / bucket.rate
