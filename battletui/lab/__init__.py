"""The lab: the mock chain and every mock provider, with a fault-control endpoint.

It runs as its own process (``python -m battletui.lab``, started by the engine) so that the
providers' event loop never shares time with the engine's measuring loop, exactly as real
providers run apart from the gateway and its users. The engine applies faults and reads what
each provider received over the control endpoint (``control``); faults still act on the
providers' real sockets. Never imports the gateway, the workload, the engine or the UI.
"""

from battletui.lab.faults import FAULT_KINDS, FaultRefused, apply_provider_fault
from battletui.lab.server import LabServer, LabStartError

__all__ = ["FAULT_KINDS", "FaultRefused", "LabServer", "LabStartError", "apply_provider_fault"]
