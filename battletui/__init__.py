"""battletui: live, interactive chaos sessions against Ethereum-style JSON-RPC providers."""

__version__ = "0.2.0"
