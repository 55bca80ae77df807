"""A build killed with SIGKILL at random moments never breaks the published index."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from stepdr.index.verify import verify_version
from stepdr.index.versions import IndexDir
from stepdr.rank.surfer import Surfer

from .conftest import write_domains
from .warcutil import html_page, write_warc

pytestmark = pytest.mark.integration

KILLS = 20


def _build_cmd(data: Path, domains: Path) -> list[str]:
    return [sys.executable, "-m", "stepdr.rank.cli", "build", "--data", str(data),
            "--domains", str(domains), "--workers", "1", "--force"]  # fmt: skip


def _check_live(data: Path) -> None:
    live = IndexDir(data).current()
    verify_version(live)
    assert Surfer.open(data).search("calibration", 3), f"{live.name} serves no results"


def _contents(data: Path) -> tuple[set[tuple[str, int, str]], dict[int, np.ndarray]]:
    """The live version's passages and its vectors by passage id."""
    import faiss

    from stepdr.index.store import PassageStore

    live = IndexDir(data).current()
    store = PassageStore(live)
    passages = {(p.url, p.ordinal, p.text) for p in store.get_many(store.all_ids()).values()}
    store.close()
    index = faiss.read_index(str(live / "dense.faiss"))
    ids = faiss.vector_to_array(index.id_map)
    vecs = index.index.reconstruct_n(0, index.ntotal)
    return passages, {int(i): v for i, v in zip(ids, vecs, strict=True)}


def test_sigkill_during_build(crawled_site: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(crawled_site / "data" / "warc", data / "warc")
    cmd = _build_cmd(data, crawled_site / "domains.yaml")
    start = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True)
    full = time.monotonic() - start
    _check_live(data)
    uninterrupted = _contents(data)

    rng = random.Random(20261124)
    for _ in range(KILLS):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, full * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _check_live(data)

    subprocess.run(cmd, check=True, capture_output=True)
    _check_live(data)
    passages, vectors = _contents(data)
    assert passages == uninterrupted[0]  # the same passages as the uninterrupted build
    assert vectors.keys() == uninterrupted[1].keys()
    assert all(np.allclose(vectors[i], uninterrupted[1][i], atol=1e-6) for i in vectors)
    leftovers = [p for p in (data / "index" / "versions").iterdir() if p.name.endswith(".partial")]
    assert leftovers == [], "a completed build sweeps partial versions of killed ones"
    scratch = [p.name for p in (data / "index").iterdir() if p.suffix in (".spill", ".refs")]
    assert scratch == [], "a completed build sweeps the scratch files of killed ones"


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc, so no extra dependency)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_extraction_workers_die_with_a_killed_build(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _pages_warc(data, 400)
    domains = write_domains(tmp_path / "domains.yaml", [
        {"domain": "standards.example.org", "name": "x", "category": "standards", "tier": 1}
    ])  # fmt: skip
    cmd = [sys.executable, "-m", "stepdr.rank.cli", "build", "--data", str(data), "--domains",
           str(domains), "--workers", "2", "--no-dense", "--force"]  # fmt: skip
    rng = random.Random(20261202)
    for _ in range(5):
        # Every build must extract: a page cache filled by the last one would start none.
        shutil.rmtree(data / "cache", ignore_errors=True)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        workers: set[int] = set()
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            workers |= _children(proc.pid)
            time.sleep(0.02)
        assert workers, "the build started no extraction workers"
        time.sleep(rng.uniform(0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _alive(workers) == set(), "extraction workers outlived the killed build"


def _pages_warc(data: Path, n: int) -> None:
    text = "Calibration of the reference instruments follows the published procedure {}."
    pages = {
        f"https://standards.example.org/p{i}.html": (
            "text/html", html_page(f"Page {i}", *(text.format(i * 10 + j) for j in range(12)))
        )
        for i in range(n)
    }  # fmt: skip
    (data / "warc").mkdir(parents=True)
    write_warc(data / "warc" / "pages.warc.gz", pages)


def test_a_killed_build_resumes_redoing_at_most_one_batch(tmp_path: Path) -> None:
    import json
    import sqlite3

    from stepdr.index.store import PassageStore

    data, clean = tmp_path / "data", tmp_path / "clean"
    _pages_warc(data, 700)
    shutil.copytree(data / "warc", clean / "warc")
    domains = write_domains(tmp_path / "domains.yaml", [
        {"domain": "standards.example.org", "name": "x", "category": "standards", "tier": 1}
    ])  # fmt: skip

    def cmd(where: Path) -> list[str]:
        return [sys.executable, "-m", "stepdr.rank.cli", "build", "--data", str(where),
                "--domains", str(domains), "--workers", "2", "--no-dense"]  # fmt: skip

    cache = data / "cache" / "pages.sqlite"
    proc = subprocess.Popen(cmd(data), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kept, deadline = 0, time.monotonic() + 120
    while kept < 256 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            con = sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=0.1)
            kept = con.execute("SELECT COUNT(*) FROM page").fetchone()[0]
            con.close()
        except sqlite3.Error:
            continue
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 256 <= kept < 700, f"killed with {kept} pages extracted"
    subprocess.run(cmd(data), check=True, capture_output=True)
    stats = json.loads((data / "index" / "build-stats.json").read_text())
    assert stats["cached_pages"] >= kept and stats["extracted_pages"] <= 700 - kept
    subprocess.run(cmd(clean), check=True, capture_output=True)

    def passages(where: Path) -> set[tuple[str, int, str]]:
        store = PassageStore(IndexDir(where).current())
        rows = {(p.url, p.ordinal, p.text) for p in store.get_many(store.all_ids()).values()}
        store.close()
        return rows

    assert passages(data) == passages(clean)
