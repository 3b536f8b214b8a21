"""The benchmarks start on a fresh clone: each imports (a test file it read from has not moved
away), and the ones that need no lab run to their figures on a tiny input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BENCHMARKS = sorted(p.stem for p in (REPO / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_imports(name):
    r = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, 'benchmarks'); import {name}"],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_the_topology_benchmark_prints_a_line_per_size():
    r = subprocess.run([sys.executable, "benchmarks/topology_scale.py", "0", "10"], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()[1:] if line.strip()]
    assert [row[0] for row in rows] == ["0", "10"], r.stdout


def test_the_controller_profile_runs_without_a_lab():
    r = subprocess.run([sys.executable, "benchmarks/controller_profile.py", "0", "20"], cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "Work out the monitoring topology" in r.stdout, r.stdout
    assert "every host's variables read in" in r.stdout and "22 service hosts" in r.stdout, r.stdout
