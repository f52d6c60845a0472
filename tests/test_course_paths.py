"""The runtime paths of a course (autograder.course_paths) are where nbgrader's CourseDirectory puts them."""

from pathlib import Path

from autograder.course_paths import RUNTIME, CoursePaths


def test_the_steps_and_the_gradebook_are_where_nbgrader_looks(tmp_path):
    from nbgrader.coursedir import CourseDirectory

    theirs, ours = CourseDirectory(root=str(tmp_path)), CoursePaths(tmp_path)
    for step, folder in (("submitted", ours.submitted), ("autograded", ours.autograded),
                         ("feedback", ours.feedback)):
        assert Path(theirs.format_path(step, "alice", "ps1")) == folder("alice", "ps1") == tmp_path / step / "alice/ps1"
    assert (theirs.submitted_directory, theirs.autograded_directory, theirs.feedback_directory) == (
        ours.submitted_root.name, "autograded", ours.feedback_root.name)
    assert theirs.db_url == ours.db_url == f"sqlite:///{tmp_path.resolve()}/gradebook.db"
    state = tmp_path / ".autograder"
    assert (ours.results("ps1"), ours.outcome_cache("ps1"), ours.secret, ours.gradebook_lock) == (
        state / "results/ps1", state / "cache/ps1.json", state / "secret", state / "gradebook.lock")
    assert set(RUNTIME) == {"submitted", "autograded", "feedback", "gradebook.db", ".autograder"}
