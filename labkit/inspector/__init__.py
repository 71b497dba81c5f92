"""The glass box: a call seen from the inside (labkit; ``call.feature(Features.INSPECTOR)``).

A feature beside ``labkit.stats``: it reads the call through ``call.media`` only.
``sdp_annotation`` explains session descriptions line by line, ``packets`` decodes RTP
and RTCP, and ``pcap`` writes captured packets for Wireshark and tshark.
"""

from __future__ import annotations

from .inspector_feature import InspectorFeature
from .inspector_views import AnnotatedSdp, DtlsView, IceView, SignalingRow, TimelineEntry
from .link_inspector import LinkInspector, inspect_bridge
from .packets import RtcpReport, RtpHeader
from .sdp_annotation import SdpLine, annotate, diff

__all__ = [
    "AnnotatedSdp",
    "DtlsView",
    "IceView",
    "InspectorFeature",
    "LinkInspector",
    "RtcpReport",
    "RtpHeader",
    "SdpLine",
    "SignalingRow",
    "TimelineEntry",
    "annotate",
    "diff",
    "inspect_bridge",
]
