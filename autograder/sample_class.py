"""A built-in sample class, for `make demo`, `make bench` and the tests.

Submissions are made at run time from the released notebook and the reference solution cells of
source/ (so no solution is ever stored twice). A behaviour names what a student did: solved
everything, made a classic mistake (a checked text edit of the reference), solved part, handed in
the untouched release, solved it but printed debugging output and warnings, or used SciPy.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import notebooks
from autograder.course import Assignment
from autograder.course_paths import CoursePaths


@dataclass(frozen=True)
class Edit:
    function: str
    old: str
    new: str


#: Classic mistakes, as edits of the reference solutions. Each must apply (tests check it).
BUGS: dict[str, dict[str, tuple[Edit, ...]]] = {
    "ps1": {
        "flipped-kernel": (Edit("conv2d", "kernel[a, b] * image[a:a + out_h, b:b + out_w]",
                                "kernel[kh - 1 - a, kw - 1 - b] * image[a:a + out_h, b:b + out_w]"),),
        "truncating": (Edit("conv2d", "    return out\n", "    return out.astype(int)\n"),),
        "same-off-by-one": (Edit("conv1d", "start = (k - 1) // 2", "start = k // 2"),),
    },
    "ps2": {
        "extra-pixel-before": (Edit("same_padding", "return (int(total // 2), int(total - total // 2))",
                                    "return (int(total - total // 2), int(total // 2))"),),
        "ceil-sizes": (Edit("conv_output_size", "return int((n + 2 * padding - span) // stride + 1)",
                            "return int(-(-(n + 2 * padding - span) // stride) + 1)"),),
        "float-sizes": (Edit("conv_output_size", "return int((n + 2 * padding - span) // stride + 1)",
                             "return float((n + 2 * padding - span) // stride + 1)"),),
        "pad-dtype": (Edit("zero_pad", "dtype=image.dtype)", ")"),),
    },
    "ps3": {
        "bias-per-input-channel": (Edit("conv_forward", "out += bias.astype(np.float64)[None, :, None, None]",
                                        "out += c_in * bias.astype(np.float64)[None, :, None, None]"),),
        "pool-stride-one": (Edit("max_pool2d", "(kh, kw) if stride is None", "(1, 1) if stride is None"),),
        "stride-ignored": (Edit("strided_conv2d", "out_h = (padded.shape[0] - span_h) // sh + 1",
                                "sh = sw = 1\n    out_h = (padded.shape[0] - span_h) // sh + 1"),),
    },
}

#: A ready-made convolution per assignment, to show the from-scratch rule.
NOT_FROM_SCRATCH: dict[str, Edit] = {
    "ps1": Edit("conv2d", "    ### BEGIN SOLUTION\n",
                "    ### BEGIN SOLUTION\n    import scipy.signal\n"
                "    return scipy.signal.correlate2d(image, kernel, mode='valid').astype(float)\n"),
    "ps2": Edit("zero_pad", "    ### BEGIN SOLUTION\n",
                "    ### BEGIN SOLUTION\n    return np.pad(image, padding)\n"),  # allowed: not a convolution
    "ps3": Edit("strided_conv2d", "    ### BEGIN SOLUTION\n",
                "    ### BEGIN SOLUTION\n    from scipy.signal import correlate2d as xcorr\n"
                "    if stride == 1 and padding == 0 and dilation == 1:\n"
                "        return xcorr(np.asarray(image, dtype=float), kernel, mode='valid')\n"),
}

NOISE = ("    import sys, warnings\n    print('debug: entering', flush=True)\n"
         "    print('a note on stderr', file=sys.stderr)\n"
         "    warnings.warn('this is only a warning', RuntimeWarning)\n")


def strip_markers(source: str) -> str:
    """A solution cell as a student would write it: the nbgrader markers removed."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def apply(source: str, edit: Edit) -> str:
    if edit.old not in source:
        raise ValueError(f"edit for {edit.function} no longer applies: {edit.old!r} not in the reference")
    return source.replace(edit.old, edit.new, 1)


def _with_noise(source: str) -> str:
    head, sep, body = source.partition('    """\n')
    head2, sep2, rest = body.partition('    """\n')
    if not sep2:
        return source
    return head + sep + head2 + sep2 + NOISE + rest


def submission(root: Path, assignment: Assignment, behaviour: str) -> nbformat.NotebookNode:
    """The released notebook as a student with `behaviour` would hand it in."""
    release = notebooks.read(assignment.release_path(root))
    source = notebooks.read(assignment.source_path(root))
    solutions = {gid: sources[0] for gid, sources in notebooks.solution_sources(source).items()}
    if behaviour == "untouched":
        return release
    solved = set(assignment.functions)
    edits: dict[str, list[Edit]] = {}
    if behaviour == "partial":
        solved = set(assignment.functions[:1])
    elif behaviour in BUGS[assignment.name]:
        for edit in BUGS[assignment.name][behaviour]:
            edits.setdefault(edit.function, []).append(edit)
    elif behaviour == "not-from-scratch":
        edit = NOT_FROM_SCRATCH[assignment.name]
        edits.setdefault(edit.function, []).append(edit)
    elif behaviour not in ("correct", "noisy"):
        raise ValueError(f"unknown behaviour {behaviour!r} for {assignment.name}")
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = notebooks.grade_id(cell)
        if gid in solved and gid in solutions:
            code = solutions[gid]
            for edit in edits.get(gid, []):
                code = apply(code, edit)
            if behaviour == "noisy":
                code = _with_noise(code)
            cell.source = strip_markers(code)
    return nb


def behaviours(assignment: Assignment) -> list[str]:
    return ["correct", "noisy", "partial", "untouched", "not-from-scratch", *BUGS[assignment.name]]


DEMO_CLASS = {"ada": "correct", "ben": "bug", "cy": "partial", "dee": "untouched", "eli": "noisy",
              "fay": "not-from-scratch"}


def describe(assignment: Assignment, behaviour: str) -> str:
    """What a sample student did, in words."""
    if behaviour == "bug":
        behaviour = next(iter(BUGS[assignment.name]))
    if behaviour in BUGS[assignment.name]:
        functions = sorted({edit.function for edit in BUGS[assignment.name][behaviour]})
        return f"classic mistake '{behaviour}' in {', '.join(functions)}"
    if behaviour == "not-from-scratch":
        edit = NOT_FROM_SCRATCH[assignment.name]
        used = "np.pad (allowed: not a convolution)" if "np.pad" in edit.new else "scipy.signal"
        return f"{edit.function} uses {used}"
    return {"correct": "everything right", "noisy": "right, with prints, stderr output and warnings",
            "partial": f"only {assignment.functions[0]}", "untouched": "handed in the release unchanged"}[behaviour]


def write_class(root: Path, assignment: Assignment, students: dict[str, str]) -> list[Path]:
    """Write submitted/<student>/<assignment>/<notebook>.ipynb; "bug" picks the first classic bug."""
    written = []
    for student, behaviour in students.items():
        if behaviour == "bug":
            behaviour = next(iter(BUGS[assignment.name]))
        folder = CoursePaths(root).submitted(student, assignment.name)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{assignment.notebook}.ipynb"
        nbformat.write(submission(root, assignment, behaviour), path)
        (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC\n")
        written.append(path)
    return written


def mixed_class(size: int, assignment: Assignment, seed: int = 0) -> dict[str, str]:
    """An honest mix for the benchmark: mostly correct, some buggy, partial or empty."""
    rng = random.Random(seed)
    kinds = ["correct"] * 5 + ["noisy"] + list(BUGS[assignment.name]) + ["partial", "untouched"]
    return {f"student{i:04d}": rng.choice(kinds) for i in range(size)}
