"""`python -m autograder report`: the class report from stored results, read in a real browser."""

import csv
import json

import nbformat
import numpy as np
import pytest

from autograder import report, sample_class
from autograder.course import FROM_SCRATCH, get_assignment
from autograder.sandbox import policy
from autograder.verdicts import Cause, CheckVerdict, FunctionVerdict, GroupState, GroupVerdict, Problem, ProblemKind
from tests.conftest import fixture_notebook, json_lines, make_course, run_grader
from tests.test_compare import judged

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def test_the_report_reads_what_the_judge_decides(root, refs):
    conv2d = refs["ps1"]["conv2d"]
    result = judged(root, "ps1", "conv2d", lambda image, kernel: conv2d(image, np.asarray(kernel)[::-1, ::-1]))
    summary = report.summarize(result)
    assert summary.groups == [(g.title, g.earned == g.points) for c in result.checks for g in c.groups]
    assert summary.cause == "flipped kernel" and summary.ready_made is None and summary.problems == []
    scratch = judged(root, "ps1", "conv1d", lambda s, k, mode="full": np.convolve(s, k, mode))
    assert report.summarize(scratch).ready_made == "numpy.convolve"
    # the static policy's finding, which the sandboxed grader makes before anything runs
    cells = ["import scipy.signal as ss",
             "def conv2d(image, kernel):\n    return ss.correlate2d(image, kernel, 'valid')"]
    (violation,) = policy.check(cells, ["conv2d"], FROM_SCRATCH).values()
    flagged = judged(root, "ps1", "conv2d", conv2d)
    flagged.problem = Problem(ProblemKind.POLICY, violation=violation)
    assert report.summarize(flagged).ready_made == "scipy.signal.correlate2d"
    assert report.summarize(flagged).problems == []
    escaped = judged(root, "ps1", "conv2d", conv2d)
    (escaped.problem,) = (Problem(ProblemKind.POLICY, violation=v)
                          for v in policy.check(["import gc", "def conv2d(image, kernel):\n    return image"],
                                                ["conv2d"]).values())
    assert report.summarize(escaped).problems == [
        "not graded: cell 0, line 1: `import gc`: `gc` is not allowed in a submission (it reaches into the "
        "interpreter or the grader; see the assignment's rules)"]


def test_without_stored_results_it_says_what_to_do(tmp_path):
    from autograder.course import CourseError

    with pytest.raises(CourseError, match="grade first with 'python -m autograder grade ps1'"):
        report.load_results(tmp_path, get_assignment("ps1"))


# Student names only this class carries, so the report can only have learnt them from grading.
CLASS = {"ada_ok": "correct", "zed_flip": "flipped-kernel", "al_flip": "flipped-kernel", "quin_same": "same-off-by-one",
         "dee_empty": "untouched", "bo_ok": "correct", "pat_part": "partial"}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("report") / "course")
    sample_class.write_class(course, get_assignment("ps1"), CLASS)
    # scipy and np.convolve imported in a cell of their own (an import inside the graded function
    # runs under the tracer, which on a loaded machine can take longer than the time limit)
    scipy_user = course / "submitted" / "fay_scipy" / "ps1"
    scipy_user.mkdir(parents=True)
    nbformat.write(fixture_notebook("ps1", "not-from-scratch-aliased"), scipy_user / "convolution.ipynb")
    broken = course / "submitted" / "kit_broken" / "ps1"
    broken.mkdir(parents=True)
    (broken / "convolution.ipynb").write_text("{ this is not a notebook")
    graded = run_grader(course, "grade", "ps1", "--json", "--no-gradebook")
    assert graded.returncode == 1, graded.stderr[-2000:]  # one notebook could not be graded
    results = {r["student"]: r for r in json_lines(graded)}
    html, table = course / "class.html", course / "class.csv"
    done = run_grader(course, "report", "ps1", "--html", str(html), "--csv", str(table))
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"class report: {html}" in done.stdout
    return course, results, html, table


@pytest.mark.slow
def test_the_csv_has_a_column_per_function_and_the_graders_scores(graded_class):
    _, results, _, table = graded_class
    rows = list(csv.DictReader(table.open()))
    assert [row["student"] for row in rows] == sorted(results)
    for row in rows:
        graded = results[row["student"]]
        for exercise in graded["exercises"]:
            if exercise["name"] in ("conv2d", "convolve2d", "conv1d"):
                assert float(row[exercise["name"]]) == exercise["score"], row
        assert float(row["total"]) == graded["score"] and row["status"] == graded["status"]


@pytest.mark.slow
def test_the_page_opens_from_disk_in_chromium_with_every_part(graded_class, tmp_path):
    from playwright.sync_api import sync_playwright

    course, results, html, _ = graded_class
    requests = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(html.as_uri())
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        headings = page.locator("h2").all_inner_texts()
        images = page.evaluate("[...document.images].map(i => [i.src.slice(0, 21), i.naturalWidth])")
        tables = {h: page.locator(f"h2#{h} + table, h2#{h} + p + table").first.inner_text()
                  for h in ("mistakes", "ready-made", "not-graded", "groups", "distribution")}
        browser.close()
    assert headings == ["Score distribution per function", "Checks: difficulty and discrimination",
                        "Classic mistakes", "Ready-made convolutions", "Could not be graded"]
    assert len(images) == 2 and all(src == "data:image/png;base64" and width > 300 for src, width in images)
    assert all(url.startswith(("file://", "data:")) for url in requests), requests  # nothing fetched
    # Who made which mistake: learnt from the grading, per student.
    flip = next(line for line in tables["mistakes"].splitlines() if "flipped kernel" in line)
    assert flip.split("\t")[2:] == ["2", "al_flip, zed_flip"]
    assert "quin_same" in next(line for line in tables["mistakes"].splitlines() if "'same' window" in line)
    assert [line.split("\t") for line in tables["ready-made"].splitlines()[1:]] == [
        ["fay_scipy", "conv1d", "numpy.convolve"], ["fay_scipy", "conv2d", "scipy.signal.correlate2d"]]
    broken = next(line for line in tables["not-graded"].splitlines() if line.startswith("kit_broken"))
    assert results["kit_broken"]["error"] in broken
    groups = [line.split("\t") for line in tables["groups"].splitlines()[1:]]
    graded = [r for r in results.values() if r["status"] == "graded"]
    for function, title, passed, *_ in groups:
        lines = [e["feedback"] for r in graded for e in r["exercises"] if e["name"] == function]
        share = sum(f"[ok ] {title} (" in text for text in lines) / len(lines)
        assert passed == f"{100 * share:.0f}%", (function, title)
    summary = tables["distribution"].splitlines()
    conv2d = [r_["exercises"][0]["score"] for r_ in graded]
    assert summary[1].split("\t")[:3] == ["conv2d", "8", f"{sum(conv2d) / len(conv2d):.2f}"]


def test_no_stored_results_is_a_usage_error(tmp_path):
    course = make_course(tmp_path / "course")
    done = run_grader(course, "report", "ps1", "--csv", str(tmp_path / "x.csv"))
    assert done.returncode == 2 and "grade first" in done.stderr
    assert not (tmp_path / "x.csv").exists()


def test_stored_results_are_only_read(graded_class):
    course = graded_class[0]
    folder = course / ".autograder" / "results" / "ps1"
    before = {p.name: p.read_bytes() for p in folder.glob("*.json")}
    assert run_grader(course, "report", "ps1", "--csv", str(course / "again.csv")).returncode == 0
    assert {p.name: p.read_bytes() for p in folder.glob("*.json")} == before
    assert all("result" in json.loads(data) for data in before.values())


def _result(student, score, groups, cause=None):
    from autograder.results import Exercise, NotebookResult

    verdict = FunctionVerdict("conv2d", [CheckVerdict("test_conv2d_hidden", float(len(groups)), [
        GroupVerdict(title, 1.0, 1.0 if ok else 0.0, False, GroupState.PASSED if ok else GroupState.FAILED)
        for title, ok in groups])], cause=None if cause is None else Cause(cause))
    exercise = Exercise("conv2d", score, 8.0, "not read by the report", verdict=verdict)
    return NotebookResult(student, "ps1", "convolution", f"{student}.ipynb", "graded", None, score, 20.0, [exercise])


def test_difficulty_and_discrimination_follow_the_definitions():
    # Ten students by total score s0 (lowest) .. s9 (highest): the top fifth is s8, s9, the bottom s0, s1.
    results = []
    for i in range(10):
        hard = i >= 8  # only the two best pass "hard"
        inverted = i < 2  # only the two weakest pass "inverted"
        results.append(_result(f"s{i}", float(i), [("easy", True), ("hard", hard), ("inverted", inverted)],
                               cause="flipped-kernel" if i in (3, 5) else None))
    rows = {r["group"]: r for r in report.ClassReport(get_assignment("ps1"), results).group_statistics()}
    assert rows["easy"]["passed"] == 1.0 and rows["easy"]["discrimination"] == 0.0
    assert rows["hard"]["passed"] == 0.2 and rows["hard"]["discrimination"] == 1.0
    assert rows["inverted"]["discrimination"] == -1.0
    assert report.ClassReport(get_assignment("ps1"), results).mistakes() == [("conv2d", "flipped kernel", ["s3", "s5"])]


def test_waiting_groups_are_left_out_and_each_reason_is_listed_once():
    """A group whose points wait (passed by doing nothing, so far) is neither passed nor failed; a
    time limit hit in several groups is one reason; an alias names the routine it stands for."""
    from autograder.verdicts import Failure, FailureKind, Status, Violation

    timeout = Failure(FailureKind.NO_RESULT, "a case", status=Status.TIMEOUT, seconds=3.0)
    groups = [GroupVerdict("slow one", 1, 0, True, GroupState.FAILED, timeout),
              GroupVerdict("slow two", 1, 0, False, GroupState.FAILED, timeout),
              GroupVerdict("refusals", 1, 0, False, GroupState.WAITING,
                           Failure(FailureKind.WAITING, reason="refused"))]
    summary = report.summarize(FunctionVerdict("conv2d", [CheckVerdict("test_conv2d_hidden", 3, groups)]))
    assert summary.groups == [("slow one", False), ("slow two", False)]
    assert summary.problems == ["no result: time limit (3 s per function)"]
    alias = Violation("ready-made", "alias", "smooth", 1, 2, "return smooth(image, kernel)", "scipy.ndimage.correlate")
    flagged = FunctionVerdict("conv2d", [], Problem(ProblemKind.POLICY, violation=alias))
    assert (report.summarize(flagged).ready_made, report.summarize(flagged).problems) == (
        "scipy.ndimage.correlate", [])


def test_a_student_id_shaped_like_a_formula_is_text_in_the_csv():
    """A student id is a folder name (red team: submitted/=HYPERLINK(...)/ made a live formula)."""
    from autograder.report import cell_text

    assert cell_text('=HYPERLINK("https://evil.example","open")') == '\'=HYPERLINK("https://evil.example","open")'
    assert [cell_text(t) for t in ("+1", "-2", "@x", "\tx", "alice")] == ["'+1", "'-2", "'@x", "'\tx", "alice"]


def test_the_csv_writes_student_ids_as_text(tmp_path):
    import csv

    from autograder.course import get_assignment
    from autograder.report import ClassReport, write_csv
    from autograder.results import NotebookResult

    planted = '=HYPERLINK("https://evil.example","open")'
    result = NotebookResult(planted, "ps1", "convolution", "x.ipynb", "error", "unreadable", 0.0, 20.0, [])
    write_csv(ClassReport(get_assignment("ps1"), [result]), tmp_path / "class.csv")
    rows = list(csv.reader((tmp_path / "class.csv").open()))
    assert rows[1][0] == "'" + planted
