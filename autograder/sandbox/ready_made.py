"""What counts as a ready-made convolution: the one definition the static policy, the profiler and
the sandbox share (../shared/CONTRACT.md, "From scratch"). Standard library only (mounted inside).
"""

from __future__ import annotations

#: Packages whose routines are ready-made convolutions (a from-scratch function may not use them).
CONVOLUTION_PACKAGES = ("scipy.signal", "scipy.ndimage", "torch", "tensorflow", "keras", "jax", "cupy")
#: NumPy's Python-level convolutions (``numpy.convolve``, ``numpy.correlate``) ...
NUMPY_ROUTINES = ("convolve", "correlate")
#: ... and the compiled entry points they (and anything built on them) call: removed from the
#: sandbox's processes before any student code runs.
NUMPY_COMPILED_MODULE = "numpy._core._multiarray_umath"
NUMPY_COMPILED = ("correlate", "correlate2")
#: The machine code behind them, by symbol of NumPy's compiled core: in the sandbox's copy of that
#: file every one of these functions is overwritten with trap instructions, so that even a process
#: that rewrites its own memory finds no convolution to call.
NUMPY_COMPILED_CODE = ("_pyarray_correlate", "small_correlate", "PyArray_Correlate", "PyArray_Correlate2",
                       "array_correlate", "array_correlate2")
#: Libraries that are not on the sandbox's file system at all; stand-ins of these names import,
#: and using them raises an error that says so (an honest cell that imports SciPy to compare runs).
ABSENT_LIBRARIES = ("scipy", "torch", "tensorflow", "keras", "jax", "jaxlib", "cupy", "matplotlib", "PIL",
                    "skimage", "cv2", "sklearn", "pandas", "numba", "sympy")


def is_convolution(path: str) -> bool:
    """Whether a dotted name (``scipy.signal.convolve2d``, ``numpy.convolve``) is a ready-made
    convolution."""
    if any(path == p or path.startswith(p + ".") for p in CONVOLUTION_PACKAGES):
        return True
    parts = path.split(".")
    return parts[0] == "numpy" and parts[-1] in {*NUMPY_ROUTINES, *NUMPY_COMPILED}
