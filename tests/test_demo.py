"""`make demo` and `make bench` as the README promises them (on a small class for the bench)."""

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run(*args, cwd=ROOT, timeout=600):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_demo_runs_the_whole_cycle(tmp_path):
    target = tmp_path / "demo"
    done = run("demo", "--dir", str(target))
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for assignment in ("ps1", "ps2", "ps3"):
        assert f"== {assignment}:" in out
    # the table: a correct student gets every automatic point, an empty one none
    assert re.search(r"^ada\s+8/8\s+4/4\s+5/5\s+-/3\s+17/20\s+graded", out, re.M), out
    assert re.search(r"^dee\s+0/8\s+0/4\s+0/5\s+-/3\s+0/20", out, re.M), out
    assert re.search(r"^fay\s+0/8", out, re.M)  # scipy.signal: not from scratch
    assert (target / "gradebook.db").is_file() and (target / "grades.csv").is_file()
    assert len(list((target / "feedback").rglob("*.html"))) == 18
    for line in ("gradebook:", "feedback HTML:", "grades CSV:"):
        assert line in out


@pytest.mark.slow
def test_bench_compares_both_graders_on_one_class(tmp_path):
    done = run("bench", "-n", "4", "--dir", str(tmp_path / "bench"))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "identical totals: 4/4" in done.stdout
    assert re.search(r"class of 4: nbgrader autograde, its own execution / the sandboxed step +[\d.]+ +[\d.]+ +[\d.]+x",
                     done.stdout), done.stdout
    ratio = float(re.search(r"throughput ratio .*: ([\d.]+)x", done.stdout).group(1))
    assert ratio > 1
