"""A recrawled journal is compacted to the state it describes, and replays the same."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from stepdr.crawl import journal as journal_mod
from stepdr.crawl.journal import Journal, JournalState, Link, Stored


def _state(j: Journal) -> tuple[object, ...]:
    s = j.state
    return (list(s.links.items()), s.stored, s.settled, s.unparsed, s.epochs, s.file_ends)


def _crawl(path: Path, passes: int, rng: random.Random) -> Journal:
    j = Journal(path)
    j.open()
    urls = [f"https://example.org/p{i}" for i in range(120)]
    offset = 0
    for epoch in range(passes):
        if epoch:
            j.new_epoch()
        for url in urls[: 60 + 20 * epoch]:
            j.link(Link(url, depth=rng.randrange(4), hops=rng.randrange(2)))
            roll = rng.random()
            if roll < 0.6:
                length = rng.randrange(100, 900)
                warc = f"w{epoch}.warc.gz"
                j.stored(Stored(url, 200, warc, offset, length, "text/html", digest=str(roll)))
                offset += length
                if rng.random() < 0.8:
                    j.mark("parsed", url)
            elif roll < 0.8:
                j.mark("same", url)
            elif roll < 0.9:
                j.mark("done", url, "robots")
    j.close()
    return j


def test_compaction_keeps_the_state_and_bounds_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_mod, "COMPACT_MIN", 100)
    path = tmp_path / "journal.jsonl"
    _crawl(path, passes=4, rng=random.Random(7))
    before = len(path.read_bytes().splitlines())
    replayed = JournalState()
    for line in path.read_bytes().splitlines():
        replayed.apply(json.loads(line))

    reopened = Journal(path)
    reopened.open()
    assert reopened.compacted_from == before
    after = len(path.read_bytes().splitlines())
    assert after < before / 2
    expected = Journal(tmp_path / "unused.jsonl")
    expected.state = replayed
    assert _state(reopened) == _state(expected)
    # Appending goes on from the compacted file, and a second open leaves it be.
    reopened.link(Link("https://example.org/new", depth=1))
    reopened.close()
    again = Journal(path)
    again.open()
    assert again.compacted_from == 0 and "https://example.org/new" in again.state.links
    assert list(again.state.links)[: len(replayed.links)] == list(replayed.links)
    again.close()


def test_a_short_journal_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    _crawl(path, passes=2, rng=random.Random(3))
    data = path.read_bytes()
    j = Journal(path)
    j.open()
    j.close()
    assert j.compacted_from == 0 and path.read_bytes() == data
