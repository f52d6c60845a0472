"""The repository holds the course, never what running it makes (STYLE.md: runtime folders are
never committed)."""

import fnmatch
import re
import shutil
import subprocess

import pytest

from autograder import course_paths
from tests.conftest import ROOT

#: What running the course makes at its root (autograder.course_paths, nbgrader's downloaded/ and release/, the
#: demo, bench and mutmut folders, an export), and build junk anywhere.
TOP = [*course_paths.RUNTIME, "downloaded", "release", "demo", "bench", "mutants", "grades.csv"]
RUNTIME = re.compile(rf"^({'|'.join(map(re.escape, TOP))})(/|$)"
                     r"|(^|/)(__pycache__|\.ipynb_checkpoints)/|(^|/)\.DS_Store$")


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_no_runtime_file_is_committed():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert [path for path in tracked.splitlines() if RUNTIME.search(path)] == []


def test_the_pattern_names_runtime_paths():
    assert RUNTIME.search(".autograder/results/ps1/abc.json") and RUNTIME.search("submitted/alice/ps1/x.ipynb")
    assert RUNTIME.search("gradebook.db") and not RUNTIME.search("autograder/shadows/gradebook_rows.py")
    assert not RUNTIME.search("assignments/ps1/convolution.ipynb") and not RUNTIME.search("tests/submissions/x.py")
    assert RUNTIME.search("feedback/alice/ps1/convolution.html") and not RUNTIME.search("autograder/feedback/words.py")
    assert RUNTIME.search("autograder/__pycache__/cli.cpython-311.pyc") and RUNTIME.search(".autograder/secret")


def test_mutation_testing_names_modules_and_tests_that_exist():
    """`make mutate` silently skips a pattern that names no file (it once named autograder/gradebook.py,
    a package by then)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    modules = [path.relative_to(ROOT).as_posix() for path in sorted((ROOT / "autograder").rglob("*.py"))]
    assert [p for p in config["only_mutate"] if not fnmatch.filter(modules, p)] == []
    assert [t for t in config["pytest_add_cli_args_test_selection"] if not (ROOT / t).is_file()] == []
