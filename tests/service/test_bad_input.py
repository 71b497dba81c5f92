"""Bad input gets an error reply with a code and a message; the connection and other calls stay up."""

from __future__ import annotations

import contextlib
import json

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.protocol.messages import HARD_FRAME_LIMIT_BYTES, MAX_MESSAGE_BYTES
from labkit.service import EmbeddedService

from ..agent_socket import OFFER, AgentSocket, new_call_id, ring


async def still_works(agent: AgentSocket) -> None:
    await agent.send(type="ping", ref="alive")
    assert (await agent.expect("pong"))["ref"] == "alive"


async def test_malformed_unknown_and_invalid_messages(alice: AgentSocket) -> None:
    cases = [
        ("{not json", "malformed-message"),
        ("[1, 2]", "malformed-message"),
        ('"a string"', "malformed-message"),
        ("{}", "invalid-message"),
        ('{"type": 7}', "invalid-message"),
        ('{"type": "teleport"}', "unknown-message-type"),
        ('{"type": "start-call", "participants": ["x"]}', "invalid-message"),  # missing callId
        ('{"type": "start-call", "callId": "nope", "participants": ["x"]}', "invalid-message"),
        (
            f'{{"type": "start-call", "callId": "{new_call_id()}", "participants": "x"}}',
            "invalid-message",
        ),
        (f'{{"type": "accept", "callId": "{new_call_id()}", "video": "yes please"}}', "invalid-message"),
        (
            f'{{"type": "signal", "callId": "{new_call_id()}", "to": "x", "payload": {{"kind": "fax"}}}}',
            "invalid-message",
        ),
        ('{"type": "ping", "surprise": 1}', "invalid-message"),
    ]
    for text, code in cases:
        await alice.ws.send_str(text)
        error = await alice.expect_error(code)
        assert len(error["message"]) > 10, error
    await alice.ws.send_bytes(b"\x00\x01")
    await alice.expect_error("malformed-message")
    await still_works(alice)


async def test_errors_name_the_field_and_echo_the_ref(alice: AgentSocket) -> None:
    await alice.send(type="start-call", callId="nope", participants=[], ref="r9")
    error = await alice.expect_error("invalid-message")
    assert error["ref"] == "r9"
    assert "callId" in error["message"]
    assert "participants" in error["message"]
    await alice.send(type="teleport", ref="r10")
    error = await alice.expect_error("unknown-message-type")
    assert error["ref"] == "r10"
    assert "start-call" in error["hint"]


async def test_oversized_message_gets_an_error_and_the_connection_stays(alice: AgentSocket) -> None:
    big = json.dumps({"type": "ping", "ref": "x", "pad": "x" * MAX_MESSAGE_BYTES})
    await alice.ws.send_str(big)
    error = await alice.expect_error("message-too-large")
    assert str(MAX_MESSAGE_BYTES) in error["message"]
    await still_works(alice)


async def test_a_huge_frame_closes_only_that_connection(
    alice: AgentSocket, bob: AgentSocket, carol: AgentSocket
) -> None:
    call_id = await ring(alice, bob)
    await bob.send(type="accept", callId=call_id)
    await bob.expect("roster")
    await alice.expect("participant-updated")
    # the service may close while the frame is still being written: a broken pipe here is the close
    with contextlib.suppress(ConnectionError, aiohttp.ClientOSError):
        await carol.ws.send_str("x" * (HARD_FRAME_LIMIT_BYTES + 10))
    frame = await carol.ws.receive(timeout=5)
    assert frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert carol.ws.close_code == 1009
    await bob.send(type="signal", callId=call_id, to=alice.user_id, payload=OFFER)
    assert (await alice.expect("signal"))["from"] == bob.user_id


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.text(max_size=200),
            st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                lambda children: (
                    st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
                ),
                max_leaves=12,
            ).map(json.dumps),
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(
                        [
                            "start-call",
                            "join",
                            "ringing",
                            "accept",
                            "reject",
                            "hang-up",
                            "signal",
                            "update-state",
                            "add-participant",
                            "remove-participant",
                            "ping",
                            "sign-in",
                        ]
                    ),
                    "callId": st.one_of(st.uuids().map(str), st.text(max_size=40)),
                    "participants": st.lists(st.text(max_size=20), max_size=3),
                    "userId": st.text(max_size=20),
                    "to": st.text(max_size=20),
                    "payload": st.dictionaries(st.sampled_from(["kind", "sdp", "candidate"]), st.text(max_size=20)),
                }
            ).map(json.dumps),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_random_message_streams_never_take_the_service_down(service: EmbeddedService, stream: list[str]) -> None:
    import asyncio

    async def main() -> None:
        fuzzer = await AgentSocket.signed_in(service.url, "Fuzzer")
        for text in stream:
            await fuzzer.ws.send_str(text)
        await fuzzer.send(type="ping", ref="alive")
        replies = []
        while (reply := await fuzzer.recv())["type"] != "pong":
            replies.append(reply)
        assert all(r["type"] == "error" and r["code"] and r["message"] for r in replies), replies
        assert len(replies) == len(stream)  # one error per bad message, none lost, none duplicated
        # a well-formed call still works after the storm
        caller = await AgentSocket.signed_in(service.url, "Caller")
        callee = await AgentSocket.signed_in(service.url, "Callee")
        call_id = await ring(caller, callee)
        await callee.send(type="accept", callId=call_id)
        await callee.expect("roster")
        await callee.send(type="signal", callId=call_id, to=caller.user_id, payload=OFFER)
        await caller.expect("participant-updated")
        assert (await caller.expect("signal"))["payload"] == OFFER
        for agent in (fuzzer, caller, callee):
            await agent.close()

    asyncio.run(main())


DEEP = '{"type": "ping", "ref": "deep", "x": ' + "[" * 30_000 + "]" * 30_000 + "}"
LONE_SURROGATE_REF = '{"type": "ping", "ref": "\\ud800"}'


async def test_deep_nesting_and_lone_surrogates_get_an_error_reply_before_and_after_sign_in(
    service: EmbeddedService, alice: AgentSocket, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = await AgentSocket.open(service.url, "stranger")
    try:
        for agent in (stranger, alice):  # before sign-in, then after
            await agent.ws.send_str(DEEP)
            error = await agent.expect_error("malformed-message")
            assert "nested too deeply" in error["message"]
            await agent.ws.send_str(LONE_SURROGATE_REF)
            error = await agent.expect_error("invalid-message")
            assert "ref" not in error  # a ref that cannot be sent back is not echoed
        await still_works(alice)
        await stranger.send(type="ping", ref="early")
        assert (await stranger.expect_error("not-signed-in"))["ref"] == "early"  # still open, still answering
    finally:
        await stranger.close()
    assert not [r for r in caplog.records if r.exc_info], "a bad frame put a traceback in the log"
