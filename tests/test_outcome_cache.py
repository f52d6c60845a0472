"""The reference's outcomes kept across runs: served only under the key they were computed with,
equal to a fresh computation, and never executable."""

import json

import numpy as np
import pytest

from autograder import cases, grading, outcome_cache, reference
from autograder.course import ASSIGNMENTS, course_secret, get_assignment
from tests.conftest import make_course


@pytest.fixture
def loads(monkeypatch):
    """Each time the reference solutions are executed from source/ (reference.load)."""
    seen, real = [], reference.load

    def load(root, assignment):
        seen.append(assignment.name)
        return real(root, assignment)

    monkeypatch.setattr(reference, "load", load)
    return seen


def _same_values(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same_values(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(_same_values(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_a_second_run_serves_the_same_cases_and_outcomes_without_running_the_reference(tmp_path, name, loads):
    course = make_course(tmp_path / "course")
    first = grading.Context(course, get_assignment(name))
    fresh = first.prepared("anyone")
    assert loads == [name]  # computed: the reference ran
    second = grading.Context(course, get_assignment(name))
    cached = second.prepared("anyone")
    assert loads == [name]  # served: the reference was not even loaded
    specs = cases.for_assignment(name)
    for function in get_assignment(name).functions:
        drawn = cases.build(name, specs[function], secret=course_secret(course))
        assert len(cached.built[function]) == len(fresh.built[function]) == len(drawn)
        for a, b in zip(fresh.built[function], cached.built[function], strict=True):
            assert (a.check, a.group, a.case.label) == (b.check, b.group, b.case.label)
            assert _same_values(a.case.args, b.case.args) and _same_values(a.case.kwargs, b.case.kwargs)
        assert json.dumps(cached.expected[function]) == json.dumps(fresh.expected[function])
        assert cached.digests[function] == fresh.digests[function]
        assert cached.encoded[function] == fresh.encoded[function]
    for function in get_assignment(name).functions:
        assert second.largest_case(function) == first.largest_case(function)
    if name == "ps1":  # a 12x10 image and a 3x3 kernel (tests/security/test_oracle_limits.py)
        assert first.largest_case("convolve2d") == 129


def test_an_edited_reference_is_never_served_from_the_cache(tmp_path, loads):
    course = make_course(tmp_path / "course")
    ps1 = get_assignment("ps1")
    before = grading.Context(course, ps1).prepared("x").expected["conv1d"]
    source = ps1.source_path(course)
    nb = json.loads(source.read_text())
    for cell in nb["cells"]:  # the instructor changes the reference conv1d: every answer doubles
        text = "".join(cell["source"])
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "conv1d":
            cell["source"] = text + "\n\n_conv1d_before = conv1d\n\ndef conv1d(signal, kernel, mode='full'):\n" \
                                    "    return 2 * _conv1d_before(signal, kernel, mode)\n"
    source.write_text(json.dumps(nb))
    after_ctx = grading.Context(course, ps1)
    loads.clear()
    after = after_ctx.prepared("x").expected["conv1d"]
    assert loads == ["ps1"]
    doubled = [(b, a) for b, a in zip(before, after, strict=True) if b["kind"] == "returned"]
    assert doubled
    from autograder.sandbox import wire
    for b, a in doubled:
        np.testing.assert_allclose(wire.decode(a["value"]), 2 * wire.decode(b["value"]))


def test_a_damaged_or_foreign_cache_file_is_recomputed_and_holds_only_json(tmp_path, loads):
    course = make_course(tmp_path / "course")
    ps2 = get_assignment("ps2")
    grading.Context(course, ps2).prepared("x")
    path = outcome_cache.cache_path(course, ps2)
    data = json.loads(path.read_text())  # plain JSON: nothing in it is executed or unpickled
    assert data["key"] == outcome_cache.key(course, ps2, None)
    for damage in ('{"key": "', json.dumps({**data, "key": "another"}), json.dumps({**data, "functions": {}})):
        path.write_text(damage)
        loads.clear()
        grading.Context(course, ps2).prepared("x")
        assert loads == ["ps2"], damage[:40]


def test_the_key_holds_the_seed_the_secret_and_numpy(tmp_path, monkeypatch):
    """Outcomes computed for one student's inputs are never served for another's (nor for the
    shared inputs), nor after the course's secret or NumPy changed."""
    course = make_course(tmp_path / "course")
    ps1 = get_assignment("ps1")
    keys = {seed: outcome_cache.key(course, ps1, seed) for seed in (None, "alice", "bob")}
    assert len(set(keys.values())) == 3
    assert outcome_cache.key(course, ps1, "alice") == keys["alice"]  # the same inputs, the same key
    secret = course / ".autograder" / "secret"
    secret.write_text("0" * 64)  # another secret
    assert outcome_cache.key(course, ps1, None) != keys[None]
    monkeypatch.setattr(outcome_cache.np, "__version__", "0.0.0")
    assert outcome_cache.key(course, ps1, "alice") not in keys.values()
