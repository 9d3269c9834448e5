"""The gateway's head sequencing rules, without sockets: order, de-duplication, backfill."""

from __future__ import annotations

from battletui.gateway.head_sequencer import (
    Backfill,
    Gap,
    Head,
    HeadSequencer,
    Step,
    header_from_block,
)


def block_hash(number: int, fork: str = "a") -> str:
    return f"0x{fork * 4}{number:060x}"


def head(number: int, fork: str = "a", parent_fork: str | None = None) -> Head:
    parent = block_hash(number - 1, parent_fork or fork)
    header = {"number": hex(number), "hash": block_hash(number, fork), "parentHash": parent}
    parsed = Head.parse(header)
    assert parsed is not None
    return parsed


def numbers(step: Step) -> list[int]:
    return [h.number for h in step.forward]


def feed(sequencer: HeadSequencer, *heads: Head) -> list[int]:
    """Offer heads one by one (no backfill may start); the numbers forwarded."""
    out: list[int] = []
    for h in heads:
        step = sequencer.offer(h)
        assert step.backfill is None
        out += numbers(step)
    return out


def test_first_head_is_forwarded_as_is_and_in_order_heads_pass_through() -> None:
    sequencer = HeadSequencer(128)
    assert sequencer.last is None
    assert feed(sequencer, *(head(n) for n in range(50, 55))) == [50, 51, 52, 53, 54]
    assert sequencer.last == (54, block_hash(54))


def test_duplicates_after_a_switch_are_dropped() -> None:
    sequencer = HeadSequencer(128)
    feed(sequencer, *(head(n) for n in range(10, 15)))
    sequencer.hold()  # the new upstream lags two blocks behind the old one
    dropped = 0
    for n in (13, 14, 15):
        step = sequencer.offer(head(n))
        assert step.forward == ()
        dropped += step.duplicates
    assert dropped == 2
    assert numbers(sequencer.release()) == [15]
    again = sequencer.offer(head(15))
    assert again.forward == () and again.duplicates == 1


def test_a_reorg_is_forwarded_and_becomes_the_new_last() -> None:
    sequencer = HeadSequencer(128)
    feed(sequencer, *(head(n) for n in range(1, 6)))
    replaced = [head(4, "b", parent_fork="a"), head(5, "b")]
    assert feed(sequencer, *replaced) == [4, 5]
    assert sequencer.last == (5, block_hash(5, "b"))
    assert feed(sequencer, head(6, "b")) == [6]
    assert feed(sequencer, head(5, "a")) == [], "the old branch's hash was delivered already"


def test_a_gap_asks_for_exactly_the_missing_numbers() -> None:
    sequencer = HeadSequencer(128)
    feed(sequencer, head(100))
    step = sequencer.offer(head(105))
    assert step.forward == ()
    assert step.backfill == Backfill(range(101, 105), "gap")
    assert step.gaps == ()
    assert sequencer.waiting == step.backfill


def test_a_gap_larger_than_the_limit_keeps_the_most_recent_and_reports_the_rest() -> None:
    sequencer = HeadSequencer(3)
    feed(sequencer, head(10))
    step = sequencer.offer(head(20))
    assert step.backfill == Backfill(range(17, 20), "gap")
    assert step.gaps == (Gap(11, 16),)
    assert step.gaps[0].count == 6
    done = sequencer.complete({n: head(n) for n in range(17, 20)})
    assert numbers(done) == [17, 18, 19, 20]
    assert done.gaps == ()


def test_limit_zero_never_fetches() -> None:
    sequencer = HeadSequencer(0)
    feed(sequencer, head(1))
    step = sequencer.offer(head(4))
    assert step.backfill is None
    assert numbers(step) == [4]
    assert step.gaps == (Gap(2, 3),)


def test_live_heads_wait_during_a_backfill_and_come_out_in_order() -> None:
    sequencer = HeadSequencer(128)
    feed(sequencer, head(1))
    request = sequencer.offer(head(5)).backfill
    assert request == Backfill(range(2, 5), "gap")
    # Live heads keep coming, out of order and twice, while the fetch runs.
    for n in (7, 6, 6, 4):
        assert sequencer.offer(head(n)).forward == ()
    assert sequencer.buffered == 4
    done = sequencer.complete({n: head(n) for n in range(2, 5)})
    assert numbers(done) == [2, 3, 4, 5, 6, 7]
    assert done.backfill is None and sequencer.waiting is None
    assert sequencer.buffered == 0


def test_buffered_heads_during_a_switch_are_released_in_number_order() -> None:
    sequencer = HeadSequencer(128)
    feed(sequencer, head(1))
    sequencer.hold()
    for n in (4, 2, 3):
        assert sequencer.offer(head(n)).forward == ()
    assert numbers(sequencer.release()) == [2, 3, 4]


def test_a_failed_backfill_leaves_an_honest_gap() -> None:
    sequencer = HeadSequencer(128)
    feed(sequencer, head(1))
    assert sequencer.offer(head(6)).backfill == Backfill(range(2, 6), "gap")
    sequencer.offer(head(7))
    done = sequencer.complete({3: head(3)})  # only #3 could be fetched at all
    assert numbers(done) == [3, 6, 7]
    assert done.gaps == (Gap(2, 2), Gap(4, 5))
    assert done.backfill is None, "what could not be fetched is not asked for again"
    assert feed(sequencer, head(8)) == [8]


def test_nothing_fetched_forwards_the_live_head_after_the_gap() -> None:
    sequencer = HeadSequencer(128)
    feed(sequencer, head(1))
    sequencer.offer(head(4))
    done = sequencer.complete({})
    assert numbers(done) == [4]
    assert done.gaps == (Gap(2, 3),)


def test_a_head_that_does_not_link_triggers_one_repair_of_the_fork() -> None:
    sequencer = HeadSequencer(128, repair_depth=4)
    feed(sequencer, *(head(n) for n in range(1, 11)))
    # A reorg replaced #9 and #10 while the feed was switching: #11 builds on #10'.
    step = sequencer.offer(head(11, "b"))
    assert step.forward == ()
    assert step.backfill == Backfill(range(7, 11), "repair")
    fetched = {7: head(7), 8: head(8), 9: head(9, "b", parent_fork="a"), 10: head(10, "b")}
    done = sequencer.complete(fetched)
    assert numbers(done) == [9, 10, 11], "the known #7, #8 dropped, the new branch forwarded"
    assert done.gaps == ()


def test_an_unrepairable_head_is_forwarded_anyway() -> None:
    sequencer = HeadSequencer(128, repair_depth=2)
    feed(sequencer, head(1), head(2))
    stranger = head(3, "c", parent_fork="x")
    assert sequencer.offer(stranger).backfill == Backfill(range(1, 3), "repair")
    done = sequencer.complete({1: head(1), 2: head(2)})
    assert numbers(done) == [3]
    assert done.gaps == (), "a repair fetch never reports gaps: those numbers were delivered"


def test_complete_without_a_request_is_harmless_and_reset_forgets() -> None:
    sequencer = HeadSequencer(128)
    assert sequencer.complete({}).forward == ()
    feed(sequencer, head(5))
    sequencer.reset()
    assert sequencer.last is None
    assert feed(sequencer, head(9)) == [9], "after a reset the next head is a first head"


def test_memory_is_bounded() -> None:
    sequencer = HeadSequencer(128, remember=8, buffer_limit=4)
    feed(sequencer, *(head(n) for n in range(1, 100)))
    sequencer.hold()
    for n in range(100, 120):
        sequencer.offer(head(n))
    assert sequencer.buffered == 4
    step = sequencer.release()
    assert step.backfill == Backfill(range(100, 116), "gap"), "the dropped oldest get fetched"


def test_header_from_block_strips_body_fields_and_parses_hex() -> None:
    block = {
        "number": "0x1a",
        "hash": "0xABC",
        "parentHash": "0xdef",
        "timestamp": "0x5",
        "transactions": [],
        "uncles": [],
        "size": "0x220",
        "totalDifficulty": "0x0",
        "withdrawals": [],
    }
    parsed = header_from_block(block)
    assert parsed is not None
    assert parsed.number == 26
    assert parsed.hash == "0xabc", "hashes compare lower-cased"
    assert dict(parsed.header) == {
        "number": "0x1a",
        "hash": "0xABC",
        "parentHash": "0xdef",
        "timestamp": "0x5",
    }
    assert header_from_block(None) is None
    assert Head.parse({"number": "12", "hash": "0x1", "parentHash": "0x0"}) is None
