"""What the processes speak: the QUANTITY reading and the words for transport errors."""

from __future__ import annotations

import errno

import pytest

from battletui.protocol.errors import describe_error, format_seconds
from battletui.protocol.jsonrpc import parse_quantity


def test_parse_quantity_reads_hex_and_refuses_the_rest() -> None:
    assert parse_quantity("0x3e8") == 1000
    assert parse_quantity("0X3E8") == 1000
    for bad in ("3e8", "0x", "0xzz", "", None, 1000, ["0x1"]):
        assert parse_quantity(bad) is None


@pytest.mark.parametrize(
    ("error", "timeout", "words"),
    [
        (TimeoutError(), None, "timed out"),
        (TimeoutError(), 1.0, "timeout after 1.0s"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), None, "connection refused"),
        (OSError(errno.ECONNRESET, "reset by peer"), None, "connection reset"),
        (ValueError("odd"), None, "ValueError"),
    ],
)
def test_describe_error_words_causes(
    error: BaseException, timeout: float | None, words: str
) -> None:
    assert describe_error(error, timeout) == words


def test_format_seconds_is_short() -> None:
    assert format_seconds(2.0) == "2.0s"
    assert format_seconds(0.25) == "250ms"
