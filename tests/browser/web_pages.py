"""Drive the web app (``GET /``) in real Chromium: open pages, read their calls and their getStats."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .chromium_lab import ARTIFACTS

if TYPE_CHECKING:
    from labkit import Call

    from ..helpers import Person

# What the page's call looks like, for a test: state, participants, and per-peer getStats.
CALL_SUMMARY = """async () => {
  const call = window.labkit.call;
  if (!call) return null;
  const peers = {};
  for (const [userId, link] of call.links) {
    const stats = {
      video: null, audio: null, outVideo: null, outAudio: null, connection: link.connectionState, route: null };
    const report = await link.pc.getStats();
    report.forEach((r) => {  // the local candidate type of the pair in use: host, srflx or relay
      if (r.type === 'transport' && r.selectedCandidatePairId) {
        const pair = report.get(r.selectedCandidatePairId);
        const local = pair && report.get(pair.localCandidateId);
        if (local) stats.route = local.candidateType;
      }
    });
    report.forEach((r) => {
      if (r.type === 'inbound-rtp') stats[r.kind] = {
        packets: r.packetsReceived, bytes: r.bytesReceived, framesDecoded: r.framesDecoded || 0,
        width: r.frameWidth || 0, height: r.frameHeight || 0, energy: r.totalAudioEnergy || 0 };
      if (r.type === 'outbound-rtp') stats[r.kind === 'video' ? 'outVideo' : 'outAudio'] = {
        packets: r.packetsSent, bytes: r.bytesSent, framesEncoded: r.framesEncoded || 0 };
    });
    peers[userId] = stats;
  }
  const participants = {};
  for (const [userId, p] of call.remoteParticipants) participants[userId] = {
    displayName: p.displayName, state: p.state, isMuted: p.isMuted, isVideoOn: p.isVideoOn, isOnHold: p.isOnHold,
    isRecording: Boolean(p.isRecording) };
  return { id: call.id, state: call.state, endReason: call.callEndReason, participants, peers };
}"""


class WebPage:
    """One browser tab on the web app, signed in as ``name``."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.name = name
        self.user_id = ""

    @classmethod
    async def open(cls, context: Any, url: str, name: str) -> WebPage:
        web = cls(await context.new_page(), name)
        web.page.on("console", lambda m: m.type == "error" and print(f"[{name} console] {m.text}"))
        web.page.on("response", lambda r: r.status >= 400 and print(f"[{name}] {r.status} {r.url}"))
        await web.page.goto(f"{url}/?name={name}")
        await web.page.locator("#dialer").wait_for(state="visible", timeout=15_000)
        web.user_id = await web.page.evaluate("window.labkit.agent.userId")
        return web

    def button(self, name: str) -> Any:
        return self.page.get_by_role("button", name=name, exact=True)

    async def dial(self, who: str, video: bool = True) -> None:
        await self.page.locator("#callee").fill(who)
        await self.button("Video call" if video else "Audio call").click()

    async def call(self) -> dict[str, Any] | None:
        result: dict[str, Any] | None = await self.page.evaluate(CALL_SUMMARY)
        return result

    async def wait_state(self, state: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            summary = await self.call()
            if summary is not None and summary["state"] == state:
                return summary
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self.name}'s page did not reach {state} within {timeout} s: {summary}")
            await asyncio.sleep(0.1)

    async def peer_stats(self, user_id: str) -> dict[str, Any]:
        summary = await self.call()
        assert summary is not None, f"{self.name}'s page has no call"
        stats: dict[str, Any] = summary["peers"][user_id]
        return stats

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=str(ARTIFACTS / f"web-app-{name}.png"))


async def page_video_calls(page: WebPage, person: Person) -> Call:
    """``page`` video-calls ``person`` (a Python agent), who accepts with a camera: both connected."""
    await page.dial(person.name.lower(), video=True)
    incoming = await person.agent.wait_for_incoming_call(timeout=10)
    assert incoming.caller_info.display_name == page.name
    call = await incoming.accept(video_options=await person.camera())
    await call.wait_for_state("Connected", timeout=15)
    await page.wait_state("Connected")
    return call
