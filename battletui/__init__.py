"""battletui: live, interactive chaos sessions against Ethereum-style JSON-RPC providers."""

__version__ = "0.1.0"
