"""The stream checker against hand-made streams with known gaps, duplicates, reorgs, breaks."""

from __future__ import annotations

from battletui.workload import StreamChecker


def h(label: str) -> str:
    """A readable fake hash: 0x + label padded to 64 hex-ish chars (only equality matters)."""
    return "0x" + label.encode().hex().ljust(64, "0")


def chain(
    start: int, count: int, branch: str = "a", parent: str | None = None
) -> list[tuple[int, str, str]]:
    """(number, hash, parentHash) for ``count`` linked blocks on ``branch``."""
    blocks = []
    previous = parent if parent is not None else h(f"{branch}{start - 1}")
    for number in range(start, start + count):
        block_hash = h(f"{branch}{number}")
        blocks.append((number, block_hash, previous))
        previous = block_hash
    return blocks


def feed(checker: StreamChecker, blocks: list[tuple[int, str, str]]) -> list[str]:
    return [checker.check(*block).kind for block in blocks]


def test_clean_stream_has_no_anomalies() -> None:
    checker = StreamChecker()
    kinds = feed(checker, chain(100, 50))
    assert kinds[0] == "first" and set(kinds[1:]) == {"ok"}
    assert (
        checker.heads,
        checker.gaps,
        checker.duplicates,
        checker.reorgs,
        checker.broken_links,
    ) == (50, 0, 0, 0, 0)


def test_gap_counts_missing_blocks() -> None:
    blocks = chain(100, 20)
    stream = blocks[:5] + blocks[8:12] + blocks[13:]  # 105,106,107 and 112 are missing
    checker = StreamChecker()
    kinds = feed(checker, stream)
    assert kinds.count("gap") == 2
    assert checker.gaps == 2 and checker.missing_blocks == 4
    assert checker.last_number == 119 and checker.broken_links == 0


def test_duplicates_by_hash_do_not_move_the_stream() -> None:
    blocks = chain(100, 10)
    stream = blocks[:6] + blocks[3:6] + blocks[6:]  # 103..105 delivered twice
    checker = StreamChecker()
    kinds = feed(checker, stream)
    assert kinds.count("duplicate") == 3
    assert checker.duplicates == 3 and checker.heads == 10
    assert checker.gaps == 0 and checker.reorgs == 0 and checker.broken_links == 0


def test_reorg_is_a_new_hash_at_an_old_number_with_a_known_parent() -> None:
    main = chain(100, 10)  # 100..109 on branch a
    fork = chain(107, 5, branch="b", parent=main[6][1])  # b107.. built on a106
    checker = StreamChecker()
    kinds = feed(checker, main + fork)
    assert kinds[10] == "reorg"  # b107 arrives after a109
    assert kinds[11:] == ["ok"] * 4  # b108..b111 follow b107
    assert checker.reorgs == 1 and checker.gaps == 0 and checker.duplicates == 0
    assert checker.broken_links == 0 and checker.last_number == 111


def test_broken_link_when_parent_does_not_match_at_contiguous_numbers() -> None:
    blocks = chain(100, 5)
    stranger = (105, h("x105"), h("nobody"))
    checker = StreamChecker()
    kinds = feed(checker, [*blocks, stranger])
    assert kinds[-1] == "broken_link"
    assert checker.broken_links == 1 and checker.reorgs == 0 and checker.gaps == 0


def test_old_number_with_unknown_parent_is_a_broken_link_not_a_reorg() -> None:
    checker = StreamChecker()
    feed(checker, chain(100, 5))
    assert checker.check(102, h("z102"), h("unknown")).kind == "broken_link"
    assert checker.reorgs == 0


def test_memory_is_bounded() -> None:
    checker = StreamChecker(memory=100)
    feed(checker, chain(0, 1000))
    assert checker.heads == 1000
    assert len(checker._seen) == 100
