"""A build killed with SIGKILL at random moments never breaks the published index."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stepdr.index.verify import verify_version
from stepdr.index.versions import IndexDir
from stepdr.rank.surfer import Surfer

pytestmark = pytest.mark.integration

KILLS = 20


def _build_cmd(data: Path, domains: Path) -> list[str]:
    return [sys.executable, "-m", "stepdr.rank.cli", "build", "--data", str(data),
            "--domains", str(domains), "--workers", "1", "--force"]  # fmt: skip


def _check_live(data: Path) -> None:
    live = IndexDir(data).current()
    verify_version(live)
    assert Surfer.open(data).search("calibration", 3), f"{live.name} serves no results"


def test_sigkill_during_build(crawled_site: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(crawled_site / "data" / "warc", data / "warc")
    cmd = _build_cmd(data, crawled_site / "domains.yaml")
    start = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True)
    full = time.monotonic() - start
    _check_live(data)

    rng = random.Random(20261124)
    for _ in range(KILLS):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, full * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _check_live(data)

    subprocess.run(cmd, check=True, capture_output=True)
    _check_live(data)
    leftovers = [p for p in (data / "index" / "versions").iterdir() if p.name.endswith(".partial")]
    assert leftovers == [], "a completed build sweeps partial versions of killed ones"
