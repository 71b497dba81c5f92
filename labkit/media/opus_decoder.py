"""``OpusDecoder``: libopus's decoder with packet-loss concealment and in-band FEC (RFC 6716).

aiortc decodes Opus through FFmpeg, which cannot conceal: an FFmpeg packet with no data
means "end of stream", so a missing packet is simply missing. Real clients ask libopus
itself, which guesses the lost 20 ms from the last ones (PLC), or rebuilds them from the
low-bitrate copy that the next packet carries when the sender enables in-band FEC
(``useinbandfec=1``; browsers do). labkit calls libopus directly, through ``ctypes``:
the copy PyAV ships in its wheel (so no Debian package is needed), else the system's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from typing import Final

import av

SAMPLE_RATE: Final = 48_000
CHANNELS: Final = 2
MAX_FRAME_SAMPLES: Final = 5_760
"""120 ms at 48 kHz, the longest Opus frame."""

_OPUS_OK: Final = 0


def _load_libopus() -> ctypes.CDLL:
    bundled = sorted(glob.glob(os.path.join(os.path.dirname(av.__file__) + ".libs", "libopus*.so*")))
    candidates = [*bundled, ctypes.util.find_library("opus") or "libopus.so.0"]
    errors = []
    for path in candidates:
        try:
            library = ctypes.CDLL(path)
        except OSError as error:
            errors.append(f"{path}: {error}")
            continue
        library.opus_decoder_create.restype = ctypes.c_void_p
        library.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        library.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
        library.opus_decode.restype = ctypes.c_int
        library.opus_decode.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int32,
            ctypes.POINTER(ctypes.c_int16),
            ctypes.c_int,
            ctypes.c_int,
        ]
        library.opus_packet_get_nb_samples.restype = ctypes.c_int
        library.opus_packet_get_nb_samples.argtypes = [ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]
        return library
    raise OSError("libopus was not found (install Debian's libopus0): " + "; ".join(errors))


_libopus: ctypes.CDLL | None = None


def libopus() -> ctypes.CDLL:
    """libopus, loaded on first use."""
    global _libopus
    if _libopus is None:
        _libopus = _load_libopus()
    return _libopus


class OpusError(RuntimeError):
    """libopus refused a packet (a negative return code)."""


class OpusDecoder:
    """One Opus stream's decoder state: 48 kHz, stereo, signed 16-bit interleaved PCM out."""

    def __init__(self) -> None:
        self._lib = libopus()
        error = ctypes.c_int(0)
        self._state: int | None = self._lib.opus_decoder_create(SAMPLE_RATE, CHANNELS, ctypes.byref(error))
        if error.value != _OPUS_OK or not self._state:
            raise OpusError(f"opus_decoder_create failed: {error.value}")
        self._pcm = (ctypes.c_int16 * (MAX_FRAME_SAMPLES * CHANNELS))()

    def samples_in(self, packet: bytes) -> int:
        """Samples per channel that ``packet`` decodes to (0 if it is not a valid Opus packet)."""
        count = int(self._lib.opus_packet_get_nb_samples(packet, len(packet), SAMPLE_RATE))
        return max(0, count)

    def decode(self, packet: bytes) -> bytes:
        """Decode one packet."""
        return self._run(packet, self.samples_in(packet) or 960, fec=False)

    def conceal(self, samples: int = 960) -> bytes:
        """Packet-loss concealment: ``samples`` per channel guessed from what came before."""
        return self._run(None, samples, fec=False)

    def recover(self, next_packet: bytes, samples: int = 960) -> bytes:
        """The lost frame before ``next_packet``, from its in-band FEC (libopus conceals if it carries none)."""
        return self._run(next_packet, samples, fec=True)

    def _run(self, packet: bytes | None, samples: int, fec: bool) -> bytes:
        if self._state is None:
            raise OpusError("the decoder is closed")
        samples = min(samples, MAX_FRAME_SAMPLES)
        length = len(packet) if packet is not None else 0
        count = self._lib.opus_decode(self._state, packet, length, self._pcm, samples, int(fec))
        if count < 0:
            raise OpusError(f"opus_decode failed: {count}")
        return ctypes.string_at(self._pcm, count * CHANNELS * 2)

    def close(self) -> None:
        if self._state is not None:
            self._lib.opus_decoder_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()


__all__ = ["CHANNELS", "SAMPLE_RATE", "OpusDecoder", "OpusError"]
