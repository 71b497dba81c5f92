"""Media: tracks, devices, the engine thread and peer connections, on aiortc (W3C WebRTC's objects).

This layer knows nothing of calls: it makes and carries media. ``PeerConnection`` holds
labkit's aiortc workarounds, ``PeerLink`` one negotiated path to a peer, and ``MediaLink``
the read-only view of such a path that the layers above read. Import its modules
directly (``labkit.media.peer_link``); importing this package loads none of them.
"""
