"""The service's SFU: group calls as Janus videorooms (labkit)."""

from .janus_api import JanusHandle, JanusSession
from .janus_process import JanusProcess, SfuError
from .sfu_configuration import SfuConfiguration
from .sfu_rooms import JanusInstance, SfuRooms

__all__ = ["JanusHandle", "JanusInstance", "JanusProcess", "JanusSession", "SfuConfiguration", "SfuError", "SfuRooms"]
