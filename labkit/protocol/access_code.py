"""The service's shared access code, as the HTTP API carries it (``labkit serve --access-code``)."""

from __future__ import annotations

ACCESS_CODE_HEADER = "X-Labkit-Access-Code"
"""The HTTP header that carries the code (``POST /api/token`` also takes it in the body as ``accessCode``)."""
ACCESS_CODE_ENV = "LABKIT_ACCESS_CODE"
"""The access code, for ``labkit serve`` and for ``request_token`` and ``list_users`` when given none."""
