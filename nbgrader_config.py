"""nbgrader configuration for the convolution course.

Run nbgrader (and ``python -m autograder``) from this folder, the course root.
"""

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "conv-from-scratch"
c.CourseDirectory.source_directory = "source"
# nbgrader's release step writes here; this folder is committed and is what students receive.
c.CourseDirectory.release_directory = "assignments"

# Never ship build junk to students.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store"]

# Solution stubs.
c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\nraise NotImplementedError("write this function")'
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# `nbgrader autograde` and the formgrader's Autograde button grade in the sandbox, exactly as
# `python -m autograder grade` does (autograder/nbgrader_autograde.py): nbgrader's Execute step, which
# runs each notebook in the student's own kernel in your account, is replaced by the grader's, and
# nbgrader's other steps (saving grades, late penalties, feedback, export) run unchanged. Limits:
# c.GradeInSandbox.timeout (seconds, default 10) and c.GradeInSandbox.memory_mb (default 2048).
# Set this to False and nbgrader executes notebooks itself again: unsandboxed.
c.Autograder.sandboxed_autograde = True
if c.Autograder.sandboxed_autograde:
    c.Autograde.pre_convert_hook = "autograder.nbgrader_autograde.pick_notebook"
    c.Autograde.exporter_class = "autograder.nbgrader_autograde.SubmissionExporter"
    c.Autograde.autograde_preprocessors = [
        "autograder.nbgrader_autograde.GradeInSandbox",  # in place of nbgrader.preprocessors.Execute
        "nbgrader.preprocessors.IgnorePattern",
        "nbconvert.preprocessors.ClearMetadataPreprocessor",
        "nbgrader.preprocessors.LimitOutput",
        "nbgrader.preprocessors.SaveAutoGrades",
        "nbgrader.preprocessors.AssignLatePenalties",
        "nbgrader.preprocessors.CheckCellMetadata",
    ]

# With nbgrader's own execution (the line above set to False): at most this long per cell, and a
# cell that times out is reported as an error in that cell instead of aborting the notebook.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

# Fairness (nbgrader's own execution): nbgrader scores a test cell 0 when *anything* reaches stderr, so a correct answer
# that triggers a NumPy RuntimeWarning (or prints debugging output to stderr) would lose its
# points. Drop stderr streams from the graded cells; real failures are "error" outputs and
# still score 0.
c.IgnorePattern.pattern = r"[\s\S]*"

# Feedback must never show hidden-test source or the mark schemes: strip them before rendering.
# The page is the course's (autograder/feedback/page.py, autograder/feedback/templates/course_feedback/):
# formulas drawn as MathML when the page is made (no MathJax from a CDN: the page loads nothing and reads
# the same offline), each test cell named by its function in the contents list, and "not graded yet"
# for a written answer nobody has graded (nbgrader would show 0).
c.GenerateFeedback.preprocessors = [
    "autograder.feedback.page.GetGradesForFeedback",  # nbgrader's GetGrades, and what waits for a grade
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.GenerateFeedback.exporter_class = "autograder.feedback.page.FeedbackExporter"
c.FeedbackExporter.template_name = "course_feedback"
# A second line behind the grader's own cleaning of students' markdown (autograder/gradebook/html_safety.py):
# nbconvert cleans cell outputs (text/html, markdown, no JavaScript or widgets) in the feedback pages and the
# formgrader. nbgrader's templates render markdown cells without it.
c.HTMLExporter.sanitize_html = True

# Collecting an LMS download with `nbgrader zip_collect ASSIGNMENT`: put the zip files (or the
# notebooks) in downloaded/ASSIGNMENT/archive/. Each notebook's file name must start with the
# student id and an underscore, e.g. "alice_convolution.ipynb"; change this pattern to match
# your LMS's naming (it must define the groups student_id and file_id).
c.FileNameCollectorPlugin.named_regexp = r".*/(?P<student_id>[^/_]+)_(?P<file_id>[^/]+\.ipynb)$"

# nbgrader creates the gradebook with the `alembic` command: find it (and nbgrader's other tools)
# in this environment whichever way Jupyter was started (`.venv/bin/jupyter lab` does not put
# .venv/bin on PATH).
import os  # noqa: E402
import sys  # noqa: E402

_scripts = os.path.dirname(sys.executable)
if _scripts not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _scripts + os.pathsep + os.environ.get("PATH", "")

# Hidden inputs drawn per student (so they cannot be shared), in `nbgrader autograde`'s hidden
# cells as in `python -m autograder grade --per-student-seeds`: set this to True. Honest students'
# scores do not change; the same student always gets the same inputs.
c.Autograder.per_student_seeds = False
