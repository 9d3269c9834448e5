"""What several battletui processes speak to each other, defined once for all of them.

The reference gateway's events and their ``/events`` format (:mod:`.events`,
:mod:`.event_format`), the JSON-RPC codes (:mod:`.jsonrpc`), the words for transport errors
(:mod:`.errors`) and a provider's fault state as the lab reports it (:mod:`.faults`). A leaf:
it imports nothing else from battletui, so the gateway, the providers, the lab and the engine
can all share it without importing each other. Import the submodules; this package itself
loads nothing, so a user of one part does not pay for the others.
"""
