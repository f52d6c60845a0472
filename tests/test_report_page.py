"""The class report reads nbgrader's gradebook (issue 19): a real course graded, hand grades given
through nbgrader's API (what the formgrader does), feedback generated for one student, a student
in the gradebook who handed nothing in, a late submission, a notebook deleted after grading. The
CSV's totals are compared with `nbgrader export`'s for the same course, and the page is opened from
disk in headless Chromium."""

from __future__ import annotations

import csv
import html
import shutil

import pytest

from autograder.gradebook import COURSE_ID, db_url
from tests.conftest import fixture_notebook, json_lines, make_course, nbgrader, run_grader, submit
from tests.marked_class import CODE_MARKER, write_marked_class
from tests.test_pages_in_browser import SHOTS, browser_page  # noqa: F401 - fixture

pytestmark = pytest.mark.slow

DUE = "2030-01-01 12:00:00 UTC"  # ben's timestamp (tests.marked_class.LATE) is a day later; ada's before
ABSENT = "nemo_absent_41c7"  # in the gradebook, never hands in
GONE = "gil_gone_8e2a"  # graded, then the notebook is deleted
BENS_HAND_GRADE = 2.5
GILS_HAND_GRADE = 1.5


def exported(course, assignment: str = "ps1") -> dict[str, dict]:
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle) if row["assignment"] == assignment}


@pytest.fixture(scope="module")
def marked(tmp_path_factory):
    from nbgrader.api import Gradebook

    course = make_course(tmp_path_factory.mktemp("report-page") / "course")
    with open(course / "nbgrader_config.py", "a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    nbgrader(course, "db", "assignment", "add", "ps1", f"--duedate={DUE}")
    nbgrader(course, "db", "student", "add", ABSENT)
    write_marked_class(course)  # ben (late, flipped kernel), ada, wes, amb, cor
    submit(course, GONE, fixture_notebook("ps1", "correct-loops"), timestamp="2030-01-01 07:00:00.000000 UTC")
    done = run_grader(course, "grade", "ps1", "--json")
    assert done.returncode == 1, done.stderr[-2000:]  # wes, amb, cor cannot be graded
    # ada alone hands in ps2 (for the course-wide report)
    submit(course, "ada", fixture_notebook("ps2", "correct"), name="shapes_and_padding.ipynb", assignment="ps2")
    ps2 = run_grader(course, "grade", "ps2", "--json")
    assert ps2.returncode == 0, ps2.stderr[-2000:]
    results = {r["student"]: r for r in json_lines(done)}
    results["ada/ps2"] = json_lines(ps2)[0]
    with Gradebook(db_url(course), COURSE_ID) as gb:  # the formgrader's hand grades: ben's and gil's, not ada's
        for student, points in ((("ben", BENS_HAND_GRADE)), (GONE, GILS_HAND_GRADE)):
            (written,) = [
                g for g in gb.find_submission_notebook("convolution", "ps1", student).grades if g.name == "written_flip"
            ]
            written.manual_score, written.needs_manual_grade = points, False
        gb.db.commit()
    nbgrader(course, "generate_feedback", "ps1", "--student", "ben", "--force")
    shutil.rmtree(course / "submitted" / GONE)  # after grading: its stored result is now of nothing
    page, table = course / "reports" / "ps1.html", course / "reports" / "ps1.csv"
    page.parent.mkdir()
    made = run_grader(course, "report", "ps1", "--html", str(page), "--csv", str(table))
    assert made.returncode == 0, made.stderr[-2000:]
    with table.open(newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return course, results, made, page, rows, exported(course)


@pytest.fixture(scope="module")
def course_wide(marked):
    """The course-wide report: `report` without an assignment, through the command line."""
    course = marked[0]
    page, table = course / "reports" / "course.html", course / "reports" / "course.csv"
    made = run_grader(course, "report", "--html", str(page), "--csv", str(table))
    assert made.returncode == 0, made.stderr[-2000:]
    with table.open(newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return page, rows, made.stdout


def test_the_csv_totals_are_nbgrader_exports(marked):
    course, results, _, _, rows, export = marked
    assert set(rows) == set(export) == {"ben", "ada", "wes", "amb", "cor", ABSENT, GONE}
    for student, row in export.items():
        assert float(rows[student]["total"]) == float(row["score"]), student
        assert float(rows[student]["raw_score"]) == float(row["raw_score"]), student
        assert float(rows[student]["max_score"]) == float(row["max_score"]), student
    # the store alone said 11 for ben. The gradebook adds the hand grade; the "zero" late penalty took
    # the 11 points ben had when he was graded (nbgrader sets a penalty when grading, not after a hand grade)
    assert results["ben"]["score"] == 11
    assert [rows["ben"][c] for c in ("raw_score", "late_penalty", "total", "late")] == ["13.5", "11", "2.5", "yes"]
    assert rows["ada"]["late"] == "no" and rows["ada"]["total"] == "17"


def test_the_csv_has_the_written_question_graded_by_hand(marked):
    *_, rows, _ = marked
    header = list(next(iter(rows.values())))
    assert header == [
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
    ]
    assert [rows[s]["written_flip"] for s in ("ben", GONE, "ada")] == [
        f"{BENS_HAND_GRADE:g}",
        f"{GILS_HAND_GRADE:g}",
        "",
    ]
    assert [rows["ben"][f] for f in ("conv2d", "convolve2d", "conv1d")] == ["2", "4", "5"]


def test_everyone_the_gradebook_knows_has_a_standing(marked):
    *_, rows, _ = marked
    assert {s: r["status"] for s, r in rows.items()} == {
        "ben": "graded",
        "ada": "graded",
        "wes": "error",
        "amb": "error",
        "cor": "error",
        ABSENT: "not handed in",
        GONE: "stored result skipped",
    }
    assert {s: r["late"] for s, r in rows.items()} == {  # wes, amb, cor: no timestamp.txt, so nobody knows
        "ben": "yes",
        "ada": "no",
        "wes": "",
        "amb": "",
        "cor": "",
        ABSENT: "",
        GONE: "no",
    }
    assert [rows[ABSENT][c] for c in ("conv2d", "written_flip", "raw_score", "total", "late")] == ["", "", "0", "0", ""]


def test_the_deleted_notebooks_result_is_skipped_and_named(marked):
    course, results, made, *_ = marked
    gone = results[GONE]["path"]
    assert f"skipped the stored result of {GONE}: {gone} is no longer there" in made.stdout.splitlines()


def test_the_page_in_chromium(marked, browser_page):  # noqa: F811
    course, results, _, page_file, rows, export = marked
    page = browser_page
    page.goto(page_file.as_uri())
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "class-report.png"), full_page=True)

    def table(selector: str) -> list[list[str]]:
        return page.eval_on_selector_all(f"{selector} tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))")

    students = {row[0]: row for row in table("#student-table")}
    assert students["student"] == [
        "student",
        "conv2d (8)",
        "convolve2d (4)",
        "conv1d (5)",
        "written_flip (3, by hand)",
        "total",
        "late",
        "status",
        "feedback page",
    ]
    assert students["ben"] == ["ben", "2", "4", "5", "2.5", "2.5 of 20 (late penalty 11)", "late", "graded", "feedback"]
    assert students["ada"] == ["ada", "8", "4", "5", "to grade", "17 of 20", "on time", "graded", ""]
    assert students[ABSENT][1:] == ["", "", "", "", "0 of 20", "", "not handed in", ""]
    assert students[GONE][4:8] == ["1.5", "18.5 of 20", "on time", "stored result skipped (notebook gone)"]
    assert students["cor"][4:8] == ["0", "0 of 20", "", "could not be graded"]
    summary = page.locator("#summary").inner_text()
    assert (
        summary == "7 students, 2 graded, 3 could not be graded, 1 not handed in, 1 late, 1 written answer(s) "
        "awaiting a hand grade."
    )
    assert table("h2#not-handed-in + table") == [["student"], [ABSENT]]
    assert table("h2#hand-grading + table") == [["question", "answers", "who"], ["written_flip", "1", "ada"]]
    skipped = table("h2#skipped ~ table")
    assert skipped == [["student", "notebook no longer there"], [GONE, results[GONE]["path"]]]
    # only ben's feedback page exists; its link, relative to the report, opens ben's own work
    href = page.locator("#student-table a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert href == ["../feedback/ben/ps1/convolution.html"]
    assert page.locator("#small-class").inner_text().startswith("Only 2 students were graded (fewer than 10)")
    assert {row[3] for row in table("#group-table")[1:]} == {"too few students"}
    page.locator("#student-table a").click()
    page.wait_for_load_state()
    assert page.url == (course / "feedback" / "ben" / "ps1" / "convolution.html").as_uri()
    assert CODE_MARKER in html.unescape(page.content())


def test_the_course_wide_csv_has_exports_total_per_assignment(marked, course_wide):
    course = marked[0]
    _, rows, printed = course_wide
    ps1, ps2 = exported(course, "ps1"), exported(course, "ps2")
    assert set(rows) == set(ps1) == set(ps2)
    assert list(next(iter(rows.values()))) == ["student", "ps1", "ps2", "total", "max_score"]
    for student, row in rows.items():
        assert (float(row["ps1"]), float(row["ps2"])) == (float(ps1[student]["score"]), float(ps2[student]["score"]))
        assert float(row["total"]) == float(ps1[student]["score"]) + float(ps2[student]["score"])
        assert float(row["max_score"]) == float(ps1[student]["max_score"]) + float(ps2[student]["max_score"])
    assert float(rows["ada"]["ps2"]) == marked[1]["ada/ps2"]["score"]
    assert f"skipped the stored result of {GONE} (ps1): {marked[1][GONE]['path']} is no longer there" in printed


def test_the_course_wide_page_in_chromium(marked, course_wide, browser_page):  # noqa: F811
    course, results = marked[:2]
    page_file = course_wide[0]
    page = browser_page
    page.goto(page_file.as_uri())
    page.screenshot(path=str(SHOTS / "course-report.png"), full_page=True)
    rows = page.eval_on_selector_all("#course-table tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))")
    students = {row[0]: row[1:] for row in rows}
    ada, top = results["ada/ps2"]["score"], results["ada/ps2"]["max_score"]
    assert students["student"] == ["ps1", "ps2", "total"]
    assert students["ada"] == [
        "17 of 20, 1 to grade by hand",
        f"{ada:g} of {top:g}, 1 to grade by hand",
        f"{17 + ada:g} of {20 + top:g}",
    ]
    assert students["ben"] == ["2.5 of 20, late", "not handed in", f"2.5 of {20 + top:g}"]
    assert students[ABSENT] == ["not handed in", "not handed in", f"0 of {20 + top:g}"]
    headers = page.eval_on_selector_all("#assignment-table th", "cells => cells.map(c => c.innerText)")
    assert headers[-1] == "mean total of those who handed in"
    assignments = page.eval_on_selector_all(
        "#assignment-table tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
    )
    assert assignments[1:] == [
        ["ps1", "7", "2", "3", "1", "1", "1", "1", f"{38 / 6:.2f}"],  # 17 + 2.5 + 18.5
        ["ps2", "7", "1", "0", "6", "0", "1", "0", f"{ada:.2f}"],
    ]
    links = page.locator("#course-table a").evaluate_all(
        "links => links.map(a => [a.innerText, a.getAttribute('href')])"
    )
    assert links == [["2.5 of 20, late", "../feedback/ben/ps1/convolution.html"]]
