"""nbgrader_config.py read in one place (autograder.course_config): what the grader reads itself and
what nbgrader's classes get are what traitlets' own loader reads from the file."""

import shutil

import pytest

from autograder import course_config
from tests.conftest import ROOT


def traitlets_reads(root):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def as_dicts(config) -> dict:
    return {name: dict(section) for name, section in config.items() if hasattr(section, "items")}


@pytest.fixture
def config_file(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    return tmp_path


def test_the_courses_config_is_read_as_traitlets_reads_it(config_file):
    assert course_config._recorded(config_file) is not None  # the course's file needs no traitlets
    assert course_config.load(config_file) == as_dicts(traitlets_reads(config_file)) != {}
    assert course_config.for_nbgrader(config_file) == traitlets_reads(config_file)
    settings = course_config.load(config_file)
    assert course_config.option(settings, ("Autograder",), "per_student_seeds", None) is False
    assert course_config.option(settings, ("Autograder",), "no_such_option", "default") == "default"


def test_a_subclass_section_overrides_its_parents_and_a_file_the_stand_in_cannot_run_goes_to_traitlets(config_file):
    with open(config_file / "nbgrader_config.py", "a") as handle:
        handle.write('\nc.ClearOutputPreprocessor.remove_metadata_fields = {"a"}\n'
                     'c.ClearOutput.remove_metadata_fields = {"b"}\n')
    settings = course_config.load(config_file)
    assert course_config.option(settings, ("ClearOutputPreprocessor", "ClearOutput"), "remove_metadata_fields",
                                None) == {"b"}
    with open(config_file / "nbgrader_config.py", "a") as handle:
        handle.write('\nc.Exchange.path_includes_course = True\nc.Execute.extra_arguments.append("--MARKER")\n')
    assert course_config._recorded(config_file) is None  # a lazy value: only traitlets knows what it means
    loaded, config = course_config.load(config_file), course_config.for_nbgrader(config_file)
    assert loaded.keys() == as_dicts(traitlets_reads(config_file)).keys() and loaded["Exchange"] == {
        "path_includes_course": True}
    assert config.Execute.extra_arguments.get_value([]) == ["--MARKER"] and config.ClearOutput == {
        "remove_metadata_fields": {"b"}}

def test_a_course_without_a_config_file_has_no_settings(tmp_path):
    assert course_config.load(tmp_path) == {}
