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
from tests.conftest import ROOT, fixture_notebook, json_lines, make_course, run_grader
from tests.security.test_student_text import Tables
from tests.test_compare import judged

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_the_report_reads_what_the_judge_decides(root, refs):
    conv2d = refs["ps1"]["conv2d"]
    result = judged(root, "ps1", "conv2d", lambda image, kernel: conv2d(image, np.asarray(kernel)[::-1, ::-1]))
    summary = report.summarize(result)
    assert summary.groups == [(g.title, g.earned == g.points) for c in result.checks for g in c.groups]
    assert summary.cause == "flipped kernel" and summary.ready_made is None and summary.problems == []
    scratch = judged(root, "ps1", "conv1d", lambda s, k, mode="full": np.convolve(s, k, mode))
    assert report.summarize(scratch).ready_made == "numpy.convolve"
    # the static policy's finding, which the sandboxed grader makes before anything runs
    cells = [
        "import scipy.signal as ss",
        "def conv2d(image, kernel):\n    return ss.correlate2d(image, kernel, 'valid')",
    ]
    (violation,) = policy.check(cells, ["conv2d"], FROM_SCRATCH).values()
    flagged = judged(root, "ps1", "conv2d", conv2d)
    flagged.problem = Problem(ProblemKind.POLICY, violation=violation)
    assert report.summarize(flagged).ready_made == "scipy.signal.correlate2d"
    assert report.summarize(flagged).problems == []
    escaped = judged(root, "ps1", "conv2d", conv2d)
    (escaped.problem,) = (
        Problem(ProblemKind.POLICY, violation=v)
        for v in policy.check(["import gc", "def conv2d(image, kernel):\n    return image"], ["conv2d"]).values()
    )
    assert report.summarize(escaped).problems == [
        "not graded: cell 0, line 1: `import gc`: `gc` is not allowed in a submission (it reaches into the "
        "interpreter or the grader; see the assignment's rules)"
    ]


def test_without_stored_results_it_says_what_to_do(tmp_path):
    from autograder.course import CourseError

    with pytest.raises(CourseError, match="grade first with 'python -m autograder grade ps1'"):
        report.load_results(tmp_path, get_assignment("ps1"))


# Student names only this class carries, so the report can only have learnt them from grading.
CLASS = {
    "ada_ok": "correct",
    "zed_flip": "flipped-kernel",
    "al_flip": "flipped-kernel",
    "quin_same": "same-off-by-one",
    "dee_empty": "untouched",
    "bo_ok": "correct",
    "pat_part": "partial",
}


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
        tables = {
            h: page.locator(f"h2#{h} + table, h2#{h} + p + table").first.inner_text()
            for h in ("mistakes", "ready-made", "not-graded", "distribution")
        }
        tables["groups"] = page.locator("#group-table").inner_text()
        warnings = page.locator("p.warning").all_inner_texts()
        browser.close()
    assert headings == [
        "Students",
        "Not handed in",
        "Written answers awaiting a hand grade",
        "Score distribution per function",
        "Checks: difficulty and discrimination",
        "Classic mistakes",
        "Ready-made convolutions",
        "Could not be graded",
        "Stored results skipped",
    ]
    # graded with --no-gradebook: the page says what it cannot know; 8 graded students are a small class
    assert [w.split(":")[0] for w in warnings] == [
        "The gradebook does not know this assignment (graded with --no-gradebook, or no gradebook.db)",
        "Only 8 students were graded (fewer than 10)",
    ]
    assert len(images) == 1 and all(src == "data:image/png;base64" and width > 300 for src, width in images)
    assert all(url.startswith(("file://", "data:")) for url in requests), requests  # nothing fetched
    # Who made which mistake: learnt from the grading, per student.
    flip = next(line for line in tables["mistakes"].splitlines() if "flipped kernel" in line)
    assert flip.split("\t")[2:] == ["2", "al_flip, zed_flip"]
    assert "quin_same" in next(line for line in tables["mistakes"].splitlines() if "'same' window" in line)
    assert [line.split("\t") for line in tables["ready-made"].splitlines()[1:]] == [
        ["fay_scipy", "conv1d", "numpy.convolve"],
        ["fay_scipy", "conv2d", "scipy.signal.correlate2d"],
    ]
    broken = next(line for line in tables["not-graded"].splitlines() if line.startswith("kit_broken"))
    assert results["kit_broken"]["error"] in broken
    groups = [line.split("\t") for line in tables["groups"].splitlines()[1:]]
    graded = [r for r in results.values() if r["status"] == "graded"]
    for function, title, passed, *_ in groups:
        lines = [e["feedback"] for r in graded for e in r["exercises"] if e["name"] == function]
        lines = [text for text in lines if f"[wait] {title} (" not in text]  # points that wait are not judged yet
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

    verdict = FunctionVerdict(
        "conv2d",
        [
            CheckVerdict(
                "test_conv2d_hidden",
                float(len(groups)),
                [
                    GroupVerdict(title, 1.0, 1.0 if ok else 0.0, False, GroupState.PASSED if ok else GroupState.FAILED)
                    for title, ok in groups
                ],
            )
        ],
        cause=None if cause is None else Cause(cause),
    )
    exercise = Exercise("conv2d", score, 8.0, "not read by the report", verdict=verdict)
    return NotebookResult(student, "ps1", "convolution", f"{student}.ipynb", "graded", None, score, 20.0, [exercise])


def test_difficulty_and_discrimination_follow_the_definitions():
    # Ten students by total score s0 (lowest) .. s9 (highest): the top fifth is s8, s9, the bottom s0, s1.
    results = []
    for i in range(10):
        hard = i >= 8  # only the two best pass "hard"
        inverted = i < 2  # only the two weakest pass "inverted"
        results.append(
            _result(
                f"s{i}",
                float(i),
                [("easy", True), ("hard", hard), ("inverted", inverted)],
                cause="flipped-kernel" if i in (3, 5) else None,
            )
        )
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
    groups = [
        GroupVerdict("slow one", 1, 0, True, GroupState.FAILED, timeout),
        GroupVerdict("slow two", 1, 0, False, GroupState.FAILED, timeout),
        GroupVerdict("refusals", 1, 0, False, GroupState.WAITING, Failure(FailureKind.WAITING, reason="refused")),
    ]
    summary = report.summarize(FunctionVerdict("conv2d", [CheckVerdict("test_conv2d_hidden", 3, groups)]))
    assert summary.groups == [("slow one", False), ("slow two", False)]
    assert summary.problems == ["no result: time limit (3 s per function)"]
    alias = Violation("ready-made", "alias", "smooth", 1, 2, "return smooth(image, kernel)", "scipy.ndimage.correlate")
    flagged = FunctionVerdict("conv2d", [], Problem(ProblemKind.POLICY, violation=alias))
    assert (report.summarize(flagged).ready_made, report.summarize(flagged).problems) == ("scipy.ndimage.correlate", [])


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


# -- the gradebook's side, the roster, skipped results, small classes (in process) --------------------------------


def _book_class():
    """A roster from a gradebook as nbgrader would hold it (autograder.report.book.Entry) and the store."""
    from autograder.report import Book, Layout, roster
    from autograder.report.book import Entry

    layout = Layout(
        {
            "conv2d": ("test_conv2d_visible", "test_conv2d_hidden"),
            "convolve2d": ("test_convolve2d_hidden",),
            "conv1d": ("test_conv1d_hidden",),
        },
        {"written_flip": 3.0},
        {"conv2d": 8.0, "convolve2d": 4.0, "conv1d": 5.0},
    )
    grades = {
        "test_conv2d_visible": 0.0,
        "test_conv2d_hidden": 6.5,
        "test_convolve2d_hidden": 4.0,
        "test_conv1d_hidden": 5.0,
    }
    book = Book(
        {
            "late_lu": Entry(
                "late_lu", True, {**grades, "written_flip": 2.0}, (), 17.5, 3.25, 20.0, 3600.0, "2030-01-02 13:00:00"
            ),
            "wait_wu": Entry(
                "wait_wu",
                True,
                {**grades, "written_flip": None},
                ("written_flip",),
                15.5,
                0.0,
                20.0,
                0.0,
                "2030-01-01 10:00:00",
            ),
            "absent_ab": Entry("absent_ab", False, max_score=20.0),
        },
        found=True,
    )
    results = [
        _result("late_lu", 6.0, [("easy", True)]),
        _result("wait_wu", 6.0, [("easy", True)]),
        _result("store_st", 5.0, [("easy", False)]),
    ]
    return report.ClassReport(
        get_assignment("ps1"), results, roster(ROOT, get_assignment("ps1"), results, book, layout), [], book, layout
    )


def test_the_roster_takes_the_gradebooks_scores_and_totals_as_export_does():
    made = _book_class()
    rows = {row.student: row for row in made.students}
    assert list(rows) == ["absent_ab", "late_lu", "store_st", "wait_wu"]
    lu = rows["late_lu"]
    # the gradebook's cells summed per function (6.5, not the stored 6.0), export's max(0, raw - penalty)
    assert (lu.functions, lu.written, lu.raw_score, lu.penalty, lu.total, lu.late) == (
        {"conv2d": 6.5, "convolve2d": 4.0, "conv1d": 5.0},
        {"written_flip": 2.0},
        17.5,
        3.25,
        14.25,
        True,
    )
    assert (rows["wait_wu"].written, rows["wait_wu"].awaiting, rows["wait_wu"].late) == (
        {"written_flip": None},
        ("written_flip",),
        False,
    )
    absent = rows["absent_ab"]
    assert (absent.standing, absent.total, absent.functions["conv2d"], absent.late) == (
        report.Standing.NOT_HANDED_IN,
        0.0,
        None,
        None,
    )
    st = rows["store_st"]  # stored, unknown to the gradebook: the store's score, lateness unknown
    assert (st.standing, st.functions["conv2d"], st.total, st.late) == (report.Standing.GRADED, 5.0, 5.0, None)
    assert made.not_handed_in() == ["absent_ab"] and made.late() == ["late_lu"]
    assert made.awaiting() == {"written_flip": ["wait_wu"]}


def test_the_csv_has_the_written_questions_and_exports_totals(tmp_path):
    report.write_csv(_book_class(), tmp_path / "class.csv")
    rows = list(csv.reader((tmp_path / "class.csv").open()))
    assert rows == [
        [
            "student",
            "conv2d",
            "convolve2d",
            "conv1d",
            "written_flip",
            "raw_score",
            "late_penalty",
            "total",
            "max_score",
            "late",
            "status",
        ],
        ["absent_ab", "", "", "", "", "0", "0", "0", "20", "", "not handed in"],
        ["late_lu", "6.5", "4", "5", "2", "17.5", "3.25", "14.25", "20", "yes", "graded"],
        ["store_st", "5", "", "", "", "5", "", "5", "20", "", "graded"],
        ["wait_wu", "6.5", "4", "5", "", "15.5", "0", "15.5", "20", "no", "graded"],
    ]


def test_a_stored_result_whose_notebook_is_gone_is_skipped_and_named(tmp_path, capsys):
    from autograder import store
    from autograder.results import NotebookResult

    root = make_course(tmp_path / "course")
    saved = {}
    for student in ("kept_kay", "gone_gus"):
        notebook = root / "submitted" / student / "ps1" / "convolution.ipynb"
        notebook.parent.mkdir(parents=True)
        notebook.write_text('{"cells": []}')
        result = NotebookResult(student, "ps1", "convolution", str(notebook), "graded", None, 8.0, 20.0, [])
        store.ResultStore(root, get_assignment("ps1")).save(notebook, result)
        saved[student] = notebook
    saved["gone_gus"].unlink()
    loaded = report.load_stored(root, get_assignment("ps1"))
    assert [r.student for r in loaded.results] == ["kept_kay"]
    assert loaded.skipped == [report.Skipped("gone_gus", str(saved["gone_gus"]))]
    assert report.run_report(root, get_assignment("ps1"), None, tmp_path / "class.csv") == 0
    assert (
        f"skipped the stored result of gone_gus: {saved['gone_gus']} is no longer there"
        in capsys.readouterr().out.splitlines()
    )
    assert [row[0] for row in csv.reader((tmp_path / "class.csv").open())] == ["student", "kept_kay"]
    saved["kept_kay"].unlink()  # nothing left: the error says why
    from autograder.course import CourseError

    with pytest.raises(CourseError, match=r"\(2 stored result\(s\) skipped: their notebooks are gone\)"):
        report.load_stored(root, get_assignment("ps1"))


def _page(tmp_path, made) -> str:
    report.write_html(made, tmp_path / "class.html")
    return (tmp_path / "class.html").read_text()


@pytest.mark.parametrize("size", [9, 10])
def test_a_small_class_shows_a_warning_instead_of_discrimination(tmp_path, size):
    results = [_result(f"s{i}", float(i), [("easy", True), ("hard", i >= size - 2)]) for i in range(size)]
    made = report.ClassReport(get_assignment("ps1"), results)
    assert made.small == (size < report.SMALL_CLASS)
    parser = Tables()
    parser.feed(_page(tmp_path, made))
    discrimination = {row[1]: row[3] for row in parser.tables["groups"][1:]}
    if size < 10:
        assert discrimination == {"easy": "too few students", "hard": "too few students"}
        assert "Only 9 students were graded (fewer than 10): the top and bottom fifths are 2 student(s) each" in _page(
            tmp_path, made
        )
        assert "difficulty against discrimination" not in _page(tmp_path, made)
    else:
        assert discrimination == {"easy": "+0", "hard": "+100"}
        assert "id='small-class'" not in _page(tmp_path, made)
        assert "difficulty against discrimination" in _page(tmp_path, made)


def test_student_ids_and_links_are_escaped(tmp_path):
    from autograder.report import Layout, StudentRow

    planted = "<img src=x onerror=alert(1)>ida&co"
    folder = tmp_path / "feedback" / planted / "ps1"
    folder.mkdir(parents=True)
    (folder / "convolution.html").write_text("feedback")
    row = StudentRow(
        planted,
        report.Standing.GRADED,
        {"conv2d": 8.0},
        {},
        page=folder / "convolution.html",
        total=8.0,
        max_score=20.0,
    )
    made = report.ClassReport(get_assignment("ps1"), [], [row], layout=Layout({"conv2d": ()}, {}, {"conv2d": 8.0}))
    (tmp_path / "reports").mkdir()
    report.write_html(made, tmp_path / "reports" / "class.html")
    text = (tmp_path / "reports" / "class.html").read_text()
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;ida&amp;co" in text
    assert 'href="../feedback/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3Eida%26co/ps1/convolution.html"' in text


def test_the_gradebook_is_never_created_and_a_damaged_one_is_named(tmp_path):
    from autograder.report import read_book

    course = make_course(tmp_path / "course")
    assert read_book(course, get_assignment("ps1"), ("written_flip",)) == report.Book()
    assert not (course / "gradebook.db").exists()
    (course / "gradebook.db").write_bytes(b"not a database, planted-7f3e")
    damaged = read_book(course, get_assignment("ps1"), ("written_flip",))
    assert damaged.entries == {} and not damaged.found
    assert damaged.problem.startswith("gradebook.db could not be read (")
    assert (course / "gradebook.db").read_bytes() == b"not a database, planted-7f3e"


def test_the_report_never_writes_the_gradebook(tmp_path):
    """Opened read-only: a gradebook of another course id, which nbgrader's Gradebook would add this
    course to (a write), is left byte for byte and named as unreadable."""
    from nbgrader.api import Gradebook

    from autograder.gradebook.nbgrader_side import stamp_in_process
    from autograder.report import read_book

    course = make_course(tmp_path / "course")
    stamp_in_process()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "another-course") as gb:
        gb.add_assignment("ps1")
        gb.add_student("ann_other")
    before = (course / "gradebook.db").read_bytes()
    book = read_book(course, get_assignment("ps1"), ("written_flip",))
    assert (course / "gradebook.db").read_bytes() == before
    assert book.problem.startswith("gradebook.db could not be read (InvalidEntry") and not book.found, book
