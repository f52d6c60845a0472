"""The repository holds the course, never what running it makes (STYLE.md: runtime folders are
never committed)."""

import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

RUNTIME = re.compile(r"(^|/)(submitted|autograded|feedback|downloaded|release|demo|bench|mutants|\.autograder|"
                     r"__pycache__|\.ipynb_checkpoints)/|(^|/)(gradebook\.db|grades\.csv|\.DS_Store)$")


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_no_runtime_file_is_committed():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert [path for path in tracked.splitlines() if RUNTIME.search(path)] == []


def test_the_pattern_names_runtime_paths():
    assert RUNTIME.search(".autograder/results/ps1/abc.json") and RUNTIME.search("submitted/alice/ps1/x.ipynb")
    assert RUNTIME.search("gradebook.db") and not RUNTIME.search("autograder/shadows/gradebook_rows.py")
    assert not RUNTIME.search("assignments/ps1/convolution.ipynb") and not RUNTIME.search("tests/submissions/x.py")
