from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest

from labkit.errors import ErrorCode, TokenError
from labkit.identity import (
    CommunicationUserIdentifier,
    IdentityClient,
    LocalIdentityClient,
    TokenScope,
    create_identity_client,
    is_acs_user_id,
)


def test_user_ids_have_the_acs_shape(identity: LocalIdentityClient) -> None:
    user = identity.create_user()
    assert is_acs_user_id(user.id), user.id
    assert user.id.startswith(f"8:acs:{identity.resource_id}_")
    assert user.raw_id == user.communication_user_id == user.id
    assert identity.create_user() != user


def test_token_claims_mirror_acs(identity: LocalIdentityClient) -> None:
    user, token = identity.create_user_and_token(["voip", TokenScope.CHAT])
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert claims["skypeid"] == user.id.removeprefix("8:")
    assert claims["scp"] == 1792
    assert claims["acsScope"] == "voip,chat"
    assert claims["resourceId"] == identity.resource_id
    assert claims["exp"] - claims["iat"] == 24 * 3600
    assert int(token.expires_on.timestamp()) == claims["exp"]
    verified = identity.verify_token(token.token)
    assert verified.user == user
    assert verified.scopes == (TokenScope.VOIP, TokenScope.CHAT)


def test_every_scope_is_an_enum_and_unknown_scopes_are_refused(identity: LocalIdentityClient) -> None:
    assert {s.value for s in TokenScope} == {"voip", "chat", "voip.join", "chat.join"}
    with pytest.raises(ValueError, match=r"unknown scope 'video'.*voip"):
        identity.create_user_and_token(["video"])
    with pytest.raises(ValueError, match="at least one scope"):
        identity.create_user_and_token([])


def test_get_token_issues_a_fresh_token_for_the_same_user(identity: LocalIdentityClient) -> None:
    user = identity.create_user()
    first = identity.get_token(user, ["voip"], token_expires_in=timedelta(hours=1))
    time.sleep(1.01)
    second = identity.get_token(user, ["voip.join"])
    assert first.token != second.token
    assert identity.verify_token(first.token).user == identity.verify_token(second.token).user == user
    assert identity.verify_token(second.token).scopes == (TokenScope.VOIP_JOIN,)


def test_expired_token_is_refused(identity: LocalIdentityClient) -> None:
    user = identity.create_user()
    token = identity.get_token(user, ["voip"], token_expires_in=timedelta(seconds=1))
    time.sleep(2.1)
    with pytest.raises(TokenError) as caught:
        identity.verify_token(token.token)
    assert caught.value.code is ErrorCode.TOKEN_EXPIRED


def test_forged_token_is_refused() -> None:
    ours = LocalIdentityClient(secret="our-secret-0123456789-0123456789-abc")
    theirs = LocalIdentityClient(secret="their-secret-0123456789-0123456789-abc")
    _, forged = theirs.create_user_and_token(["voip"])
    with pytest.raises(TokenError) as caught:
        ours.verify_token(forged.token)
    assert caught.value.code is ErrorCode.TOKEN_INVALID_SIGNATURE
    with pytest.raises(TokenError) as caught:
        ours.verify_token("not.a.jwt")
    assert caught.value.code is ErrorCode.TOKEN_MALFORMED


def test_revoke_refuses_earlier_tokens_only(identity: LocalIdentityClient) -> None:
    user, before = identity.create_user_and_token(["voip"])
    identity.revoke_tokens(user)
    with pytest.raises(TokenError) as caught:
        identity.verify_token(before.token)
    assert caught.value.code is ErrorCode.TOKEN_REVOKED
    after = identity.get_token(user, ["voip"])
    assert identity.verify_token(after.token).user == user


def test_deleted_user_cannot_get_or_use_tokens(identity: LocalIdentityClient) -> None:
    user, token = identity.create_user_and_token(["voip"])
    identity.delete_user(user)
    assert not identity.user_exists(user.id)
    with pytest.raises(TokenError) as caught:
        identity.verify_token(token.token)
    assert caught.value.code is ErrorCode.USER_DELETED
    with pytest.raises(ValueError, match="unknown or deleted user"):
        identity.get_token(user, ["voip"])


def test_secret_comes_from_labkit_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_SECRET", "a-shared-classroom-secret-of-32-chars-or-more")
    issuer, verifier = LocalIdentityClient(), LocalIdentityClient()
    _, token = issuer.create_user_and_token(["voip"])
    assert verifier.verify_token(token.token).scopes == (TokenScope.VOIP,)
    monkeypatch.delenv("LABKIT_SECRET")
    with pytest.raises(TokenError):
        LocalIdentityClient().verify_token(token.token)


def test_factory_gives_the_local_backend_without_a_connection_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABKIT_ACS_CONNECTION_STRING", raising=False)
    client = create_identity_client()
    assert isinstance(client, LocalIdentityClient)
    assert isinstance(client, IdentityClient)
    assert CommunicationUserIdentifier("8:acs:x_y").raw_id == "8:acs:x_y"
