"""The static policy: what a submission may do, decided on its code (../shared/CONTRACT.md)."""

import pytest

from autograder.course import FROM_SCRATCH, SIBLING_EDGES
from autograder.feedback.words import violation_text
from autograder.sandbox import policy

PS1 = ("conv2d", "convolve2d", "conv1d")
SETUP = "import numpy as np"


def check(*cells):
    """What the policy finds, per function, in the words the student reads."""
    found = policy.check([SETUP, *cells], PS1, FROM_SCRATCH, SIBLING_EDGES)
    return {name: violation_text(violation) for name, violation in found.items()}


@pytest.mark.parametrize("code", [
    "def conv2d(image, kernel):\n"
    "    w = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)\n"
    "    return np.einsum('ijab,ab->ij', w, kernel)",
    "def conv2d(image, kernel):\n    return np.fft.irfft2(np.fft.rfft2(image) * np.fft.rfft2(kernel, image.shape))",
    "def _window(image, i, j, k):\n    return image[i:i + k.shape[0], j:j + k.shape[1]]\n"
    "def conv2d(image, kernel):\n    return np.array([[np.sum(_window(image, i, j, kernel) * kernel) for j in range(2)]"
    " for i in range(2)])",
    "class Helper:\n    def __init__(self, k):\n        self.k = k\n"
    "def conv2d(image, kernel):\n    return Helper(kernel).k.__class__.__name__",
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.dpi'] = 80\n"
    "if __name__ == '__main__':\n    print(open('x.txt'))",
    "import scipy.signal\nprint(scipy.signal.convolve2d(np.ones((3, 3)), np.ones((2, 2))))",  # a scratch cell
    "import os, sys\nprint(os.path.join('a', 'b'), sys.version)\nsys.exit(0)",
])
def test_honest_code_passes(code):
    assert check(code) == {}


@pytest.mark.parametrize(("code", "line", "what"), [
    ("import sys\nframe = sys._getframe()", 2, "`sys._getframe`"),
    ("import sys\nsys.modules['numpy'].x = 1", 2, "`sys.modules`"),
    ("import __main__", 1, "`__main__`"),
    ("import gc\ngc.get_objects()", 1, "`gc`"),
    ("import inspect", 1, "`inspect`"),
    ("from ctypes import CDLL", 1, "importing from `ctypes`"),
    ("import os\nos.fork()", 2, "`os.fork`"),
    ("import subprocess", 1, "`subprocess`"),
    ("from multiprocessing import Pool", 1, "importing from `multiprocessing`"),
    ("import threading", 1, "`threading`"),
    ("import signal", 1, "`signal`"),
    ("exec('x = 1')", 1, "`exec()`"),
    ("eval('1')", 1, "`eval()`"),
    ("compile('1', 'f', 'eval')", 1, "`compile()`"),
    ("__import__('os')", 1, "`__import__()`"),
    ("import importlib", 1, "`importlib`"),
    ("name = 'con' + 'volve'\ngetattr(np, name)", 2, "`getattr` with a computed attribute name"),
    ("setattr(np, 'x' + 'y', 1)", 1, "`setattr` with a computed attribute name"),
    ("np._core.multiarray.correlate", 1, "`numpy._core.multiarray.correlate` (a private or dunder attribute"),
    ("np.__dict__['convolve']", 1, "`.__dict__`"),
    ("def f():\n    try:\n        1 / 0\n    except Exception as e:\n        return e.__traceback__.tb_frame\nf()",
     5, "`.tb_frame`"),
    ("np.allclose = lambda *a, **k: True", 1, "replacing `numpy.allclose`"),
    ("import os\nos.write(3, b'x')", 2, "`os.write`"),
    ("open(3, 'wb')", 1, "`open()` of a descriptor number"),
])
def test_escape_hatches_in_top_level_code_cost_every_function(code, line, what):
    found = check(code, "def conv2d(image, kernel):\n    return image")
    assert set(found) == set(PS1)
    assert f"cell 1, line {line}: `{code.splitlines()[line - 1].strip()}`" in found["conv1d"], found["conv1d"]
    assert what in found["conv1d"], found["conv1d"]


def test_an_unused_function_with_an_escape_costs_nothing():
    assert check("import sys\ndef unused():\n    return sys._getframe()") == {}


def test_an_escape_inside_a_function_costs_the_functions_that_reach_it():
    found = check("import sys\ndef peek():\n    return sys._getframe(1)",
                  "def conv2d(image, kernel):\n    peek()\n    return image",
                  "def convolve2d(image, kernel):\n    return conv2d(image, kernel[::-1, ::-1])",
                  "def conv1d(signal, kernel, mode='full'):\n    return signal")
    assert set(found) == {"conv2d"}  # convolve2d -> conv2d is answered by the reference: not followed
    assert "cell 1, line 3: `return sys._getframe(1)`" in found["conv2d"]


def test_a_call_off_the_declared_edges_is_followed():
    found = check("import sys\ndef convolve2d(image, kernel):\n    sys._getframe()\n    return image",
                  "def conv2d(image, kernel):\n    return convolve2d(image, kernel[::-1, ::-1])")
    assert set(found) == {"conv2d", "convolve2d"}


def test_ready_made_convolutions_however_aliased_cost_from_scratch_functions_only():
    found = check("from scipy.signal import correlate2d as helper\nsmooth = np.convolve\n"
                  "wrapped = lambda a, b: smooth(a, b)",
                  "def _inner(image, kernel):\n    return helper(image, kernel, mode='valid')",
                  "def conv2d(image, kernel):\n    return _inner(image, kernel)",
                  "def conv1d(signal, kernel, mode='full'):\n    return wrapped(signal, kernel)",
                  "def convolve2d(image, kernel):\n    import torch\n    return image")
    assert set(found) == set(PS1)
    assert "line 2: `return helper(image, kernel, mode='valid')`" in found["conv2d"]
    assert "(= numpy.convolve)" in found["conv1d"] and "`torch`" in found["convolve2d"]
    assert policy.check([SETUP, "def same_padding(n, k):\n    return np.convolve([1], [1])"],
                        ("same_padding",), FROM_SCRATCH, SIBLING_EDGES) == {}


def test_cells_that_do_not_parse_are_left_to_the_sandbox():
    assert check("def conv2d(image, kernel)\n    return image") == {}


def test_escapes_in_top_level_code_are_counted_after_the_first():
    found = check("import gc\nimport inspect\nexec('1')", "def conv2d(image, kernel):\n    return image")
    assert found["conv2d"].startswith("not graded: cell 1, line 1: `import gc`: `gc` is not allowed")
    assert found["conv2d"].endswith("the grader; see the assignment's rules) (and 2 more)")
