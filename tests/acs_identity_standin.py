"""A local stand-in for the ACS identity REST API, for testing the real Azure client against it.

It serves HTTPS on loopback with a self-signed certificate, checks the HMAC-SHA256
``Authorization`` header that ``azure-communication-identity`` signs (401 when wrong), and
implements create identity (with or without a token), issue token, revoke and delete.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import secrets
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def write_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "standin.crt", directory / "standin.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class IdentityStandIn:
    """The identity REST API of one ACS resource, on https://127.0.0.1:<port>."""

    def __init__(self, directory: Path) -> None:
        self.access_key = base64.b64encode(secrets.token_bytes(32)).decode()
        self.resource = f"standin-{uuid.uuid4().hex[:8]}"
        self.identities: dict[str, int] = {}  # id -> number of revocations
        self.requests: list[tuple[str, str, int]] = []
        self.cert_path, key_path = write_self_signed_cert(directory)
        self._signing_key = secrets.token_bytes(32)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="acs-identity-standin", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def connection_string(self, access_key: str | None = None) -> str:
        return f"endpoint=https://127.0.0.1:{self.port}/;accesskey={access_key or self.access_key}"

    def start(self) -> IdentityStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # --- the REST semantics -----------------------------------------------------------

    def issue(self, identity: str, scopes: list[str], minutes: int | None) -> dict[str, str]:
        expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=minutes or 24 * 60)
        claims = {
            "skypeid": identity.removeprefix("8:"),
            "scp": 1792,
            "acsScope": ",".join(scopes),
            "resourceId": self.resource,
            "exp": int(expires.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self._signing_key, algorithm="HS256")
        return {"token": token, "expiresOn": expires.isoformat().replace("+00:00", "Z")}

    def authorized(self, method: str, path: str, headers: Any, body: bytes) -> bool:
        date = headers.get("x-ms-date", "")
        content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if headers.get("x-ms-content-sha256") != content_hash:
            return False
        string_to_sign = f"{method}\n{path}\n{date};{headers.get('Host', '')};{content_hash}"
        digest = hmac.new(base64.b64decode(self.access_key), string_to_sign.encode(), hashlib.sha256).digest()
        signature = base64.b64encode(digest).decode()
        expected = f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
        return hmac.compare_digest(headers.get("Authorization", ""), expected)


def _make_handler(standin: IdentityStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: dict[str, Any] | None = None) -> None:
            standin.requests.append((self.command, self.path, status))
            payload = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _error(self, status: int, code: str, message: str) -> None:
            self._reply(status, {"error": {"code": code, "message": message}})

        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not standin.authorized(self.command, self.path, self.headers, body):
                self._error(401, "Denied", "Denied by the resource provider: the HMAC signature is invalid.")
                return
            url = urlparse(self.path)
            parts = [unquote(p) for p in url.path.strip("/").split("/")]
            request = json.loads(body) if body else {}
            if self.command == "POST" and parts == ["identities"]:
                identity = f"8:acs:{standin.resource}_{uuid.uuid4()}"
                standin.identities[identity] = 0
                result: dict[str, Any] = {"identity": {"id": identity}}
                scopes = request.get("createTokenWithScopes") or []
                if scopes:
                    result["accessToken"] = standin.issue(identity, scopes, request.get("expiresInMinutes"))
                self._reply(201, result)
                return
            if len(parts) >= 2 and parts[0] == "identities":
                identity = parts[1]
                if identity not in standin.identities:
                    self._error(404, "IdentityNotFound", f"Identity {identity} was not found.")
                elif self.command == "DELETE" and len(parts) == 2:
                    del standin.identities[identity]
                    self._reply(204)
                elif self.command == "POST" and parts[2:] == [":issueAccessToken"]:
                    self._reply(200, standin.issue(identity, request["scopes"], request.get("expiresInMinutes")))
                elif self.command == "POST" and parts[2:] == [":revokeAccessTokens"]:
                    standin.identities[identity] += 1
                    self._reply(204)
                else:
                    self._error(404, "NotFound", f"No route {self.command} {url.path}.")
                return
            self._error(404, "NotFound", f"No route {self.command} {url.path}.")

        do_POST = _handle
        do_DELETE = _handle

    return Handler
