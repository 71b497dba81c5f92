"""An agent in a process of its own, for cross-process tests: ``python -m tests.calling.remote_agent``.

It signs in to ``--endpoint`` as ``--name`` and prints one JSON line per event to stdout:
``signed-in``, then either accepts the first incoming call with video (``--accept``) or
joins ``--join GROUP``; then reports what it receives every 0.5 s (``stats``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from labkit import CallClient, LocalVideoStream, request_token


def say(**event: object) -> None:
    print(json.dumps(event), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--accept", action="store_true")
    parser.add_argument("--join")
    parser.add_argument("--camera", type=int, default=2)
    args = parser.parse_args()
    token, _ = await request_token(args.endpoint, args.name.lower())
    client = CallClient(args.endpoint)
    agent = await client.create_call_agent(token, args.name)
    devices = await client.get_device_manager()
    camera = LocalVideoStream((await devices.get_cameras())[args.camera - 1])
    say(event="signed-in", user_id=agent.user_id)
    if args.join:
        call = agent.join(args.join, video_options=camera)
    else:
        incoming = await agent.wait_for_incoming_call(timeout=60)
        call = await incoming.accept(video_options=camera)
    await call.wait_for_state("Connected", timeout=20)
    say(event="connected", call_id=call.id)
    while call.state.value != "Disconnected":
        streams = [s for p in call.remote_participants for s in p.video_streams]
        stamps = [s.latest_stamp() for s in streams]
        say(
            event="stats",
            participants=[p.display_name for p in call.remote_participants],
            frames=[s.frames_received for s in streams],
            cameras=[st.camera if st else None for st in stamps],
            speaker_dbfs=round(devices.speaker_output().level_dbfs(), 1),
        )
        await asyncio.sleep(0.5)
    say(event="ended", code=call.call_end_reason.code if call.call_end_reason else None)
    await client.dispose()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
