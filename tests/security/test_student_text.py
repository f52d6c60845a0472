"""Student text is a field, never structure.

An exception message is the student's to write: it may hold newlines, lines at column 0, lines
shaped like the grader's group lines (``  [ok ] title (1/1)``), causes (``  likely cause: ...``)
or problems (``  not from scratch: ...``). Whatever it holds, it is one value of the verdict: it
never hides or shows anything in Gradescope's ``results.json`` (so no hidden input or expected
value appears there before the due date) and never adds a group, a cause, a ready-made routine or
a problem to the instructor's class report.
"""

from __future__ import annotations

import csv
import html.parser

import nbformat
import pytest

from autograder import cases, gradescope, sample_class
from autograder.course import course_secret, get_assignment
from autograder.results import NotebookResult
from tests.conftest import SUBMISSIONS, build_submission, fixture_sections, json_lines, make_course, run_grader

#: What a determined student raises: each line imitates a line of the grader's feedback.
SHAPES = {
    "group": "x\n  [ok ] forged group (1/1)",
    "column0": "x\n[FAIL] forged column-0 group (0/1)\nforged column-0 line",
    "cause": "x\n  likely cause: forged mistake: forged advice",
    "ready": "x\n  not from scratch: the call used forged.convolve; this function earns no points",
    "problem": "x\n  forged problem line",
    "separators": "x\r\n  [ok ] forged crlf group (1/1)\u2028  [ok ] forged separator group (1/1)\x0b"
                  "  likely cause: forged vertical tab: advice",
}
#: A group line indented deeper than every real line: what follows it in the feedback (the table of
#: wrong values, with the hidden calls and the reference's values) reads as details of that "group".
LEAKS = {
    "deep": "x\n" + " " * 20 + "[FAIL] forged deep group (0/1)",
    "deep-tabs": "x\n" + "\t" * 12 + "[ok ] forged tab group (1/1)",
    "deep-vertical-tab": "x\x0b" + " " * 20 + "[FAIL] forged vertical-tab group (0/1)",
    "deep-line-separator": "x\u2028" + " " * 20 + "[ok ] forged line-separator group (1/1)",
}
FORGERIES = {**SHAPES, **LEAKS}
#: The lines a forgery would start, once split as any reader splits lines.
FORGED_STARTS = ("[ok ] forged", "[FAIL] forged", "likely cause: forged", "not from scratch: the call used forged",
                 "forged")

SIZE = """\
def conv_output_size(n, k, stride=1, padding=0, dilation=1):
    if any(type(v) is not int for v in (n, k, stride, padding, dilation)):
        raise ValueError({message!r})  # TypeError is asked for: the message is shown
    if min(n, k, stride, dilation) < 1 or padding < 0 or dilation * (k - 1) + 1 > n + 2 * padding:
        raise ValueError("out of range")
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 2  # every size one too large
"""


def forged_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip().startswith(FORGED_STARTS)]


# -- Gradescope --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gradescope_results(tmp_path_factory):
    """results.json (before the due date) of one ps2 submission per forgery, graded in the sandbox by
    `grade --json` (and read back from its JSON, as a reader of the contract does)."""
    course = make_course(tmp_path_factory.mktemp("student-text") / "course")
    base = fixture_sections(SUBMISSIONS / "ps2" / "submitted-correct.py")
    for name, message in FORGERIES.items():
        folder = course / "submitted" / name / "ps2"
        folder.mkdir(parents=True)
        nbformat.write(build_submission("ps2", {**base, "conv_output_size": SIZE.format(message=message)}),
                       folder / "shapes_and_padding.ipynb")
    done = run_grader(course, "grade", "ps2", "--json", "--no-gradebook", "--timeout", "5")
    assert done.returncode == 0, done.stderr[-2000:]
    graded = [NotebookResult.from_dict(data) for data in json_lines(done)]
    settings = gradescope.Settings("ps2", "after_due_date")
    return course, {r.student: (r, gradescope.results_json(r, settings, [], 1.0)) for r in graded}


def hidden_calls(course) -> list[str]:
    """Every hidden case of conv_output_size: its label and its call, as the feedback writes them."""
    spec = cases.for_assignment("ps2")["conv_output_size"]
    groups = spec.checks[0].groups
    found = []
    for item in cases.build("ps2", spec, secret=course_secret(course)):
        if groups[item.group].visible:
            continue
        found.append(f"{item.case.label}:")
        if not item.case.kwargs:
            found.append(f"conv_output_size({', '.join(str(a) for a in item.case.args)})")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("forgery", list(LEAKS))
def test_a_forged_message_shows_no_hidden_case_before_the_due_date(gradescope_results, forgery):
    course, results = gradescope_results
    result, payload = results[forgery]
    assert result.status == "graded", result.error
    (size,) = [e for e in result.exercises if e.name == "conv_output_size"]
    assert size.score == 0.0  # never a right value: even the refusals wait
    visible = [test["output"] for test in payload["tests"] if test["visibility"] == "visible"]
    shown = "\n".join([payload["output"], *visible])
    assert "details of this hidden case: shown after the due date" in shown
    leaked = [secret for secret in hidden_calls(course) if secret in shown]
    assert leaked == [], shown
    details = [t for t in payload["tests"] if t["name"] == "conv_output_size: hidden cases in detail"]
    assert [t["visibility"] for t in details] == ["after_due_date"]


@pytest.mark.slow
@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_message_starts_no_line_of_its_own(gradescope_results, forgery):
    _, results = gradescope_results
    result, payload = results[forgery]
    texts = [test["output"] for test in payload["tests"]] + [e.feedback for e in result.exercises]
    assert [line for text in texts for line in forged_lines(text)] == []
    (size,) = [t for t in payload["tests"] if t["name"] == "conv_output_size"]
    assert [line for line in size["output"].splitlines() if line.startswith("  [")] == [
        "  [FAIL] the notebook's visible examples (0/1)",
        "  [FAIL] stride, padding and dilation combinations (0/1)",
        "  [wait] out-of-range arguments raise ValueError (0/1)",
        "  [FAIL] non-integers (bools included) raise TypeError (0/1)"]


# -- the class report ----------------------------------------------------------------------------------

CONV2D = """\
def conv2d(image, kernel):
    image, kernel = np.asarray(image), np.asarray(kernel)
    if image.ndim != 2 or kernel.ndim != 2 or kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError("2-D inputs, kernel no larger than the image")
    if image.dtype == np.uint8:
        raise ValueError({message!r})
    out = np.zeros((image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kernel.shape[0], j:j + kernel.shape[1]] * kernel)
    return out
"""


class Tables(html.parser.HTMLParser):
    """The report's tables, by the id of the heading above them: a list of rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.section, self.row, self.cell = None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self.section = dict(attrs).get("id")
            self.tables[self.section] = []
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.row is not None:
            self.row.append("".join(self.cell))
            self.cell = None
        elif tag == "tr" and self.section:
            self.tables[self.section].append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


@pytest.fixture(scope="module")
def forged_report(tmp_path_factory):
    """A ps1 class of honest students and one forger per forgery, graded and reported for real."""
    course = make_course(tmp_path_factory.mktemp("forged-report") / "course")
    sample_class.write_class(course, get_assignment("ps1"), {"ada": "correct", "ben": "flipped-kernel"})
    base = fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py")
    for name, message in FORGERIES.items():
        folder = course / "submitted" / f"forger_{name}" / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(build_submission("ps1", {**base, "conv2d": CONV2D.format(message=message)}),
                       folder / "convolution.ipynb")
    graded = run_grader(course, "grade", "ps1", "--json", "--no-gradebook", "--timeout", "5")
    assert graded.returncode == 0, graded.stderr[-2000:]
    page, table = course / "class.html", course / "class.csv"
    done = run_grader(course, "report", "ps1", "--html", str(page), "--csv", str(table))
    assert done.returncode == 0, done.stderr[-2000:]
    parser = Tables()
    parser.feed(page.read_text(encoding="utf-8"))
    return {r["student"]: r for r in json_lines(graded)}, parser.tables, page.read_text(encoding="utf-8"), table


@pytest.mark.slow
def test_a_forged_message_adds_no_group_cause_routine_or_problem_to_the_report(forged_report):
    results, tables, page, table = forged_report
    forgers = [student for student in results if student.startswith("forger_")]
    assert {results[s]["exercises"][0]["score"] for s in forgers} == {6.0}  # uint8 images and unchanged inputs
    titles = {(spec.function, group.title) for spec in cases.for_assignment("ps1").values()
              for check in spec.checks for group in check.groups}
    groups = tables["groups"][1:]
    assert {(row[0], row[1]) for row in groups} == titles
    assert len(groups) == len(titles)  # one row per group of checks, no more
    # every group counted each graded student once, but for those whose points on it wait (the
    # forgers raise on the uint8 case that judges only unchanged inputs): as --json says, not as a message says
    judged = {(function, title): str(sum(g["title"] == title and g["state"] != "waiting" for r in results.values()
                                         for e in r["exercises"] if e["name"] == function for g in e["groups"]))
              for function, title in titles}
    assert {(row[0], row[1]): row[4] for row in groups} == judged
    assert {judged[("conv2d", "inputs are never modified")], judged[("conv2d", "the notebook's visible examples")]} \
        == {str(len(results) - len(forgers)), str(len(results))}
    assert [row[:3] for row in tables["mistakes"][1:]] == [["conv2d", "flipped kernel", "1"]]
    assert tables["ready-made"] == [] and tables["not-graded"] == []  # "nobody ...", "every submission ..."
    assert "forged" not in page
    with table.open(newline="") as handle:  # the CSV: a row per student, a column per function, no more
        rows = list(csv.reader(handle))
    assert rows[0] == ["student", "conv2d", "convolve2d", "conv1d", "written_flip", "raw_score", "late_penalty",
                       "total", "max_score", "late", "status"]
    assert sorted(row[0] for row in rows[1:]) == sorted(results) and all(len(row) == 11 for row in rows)
