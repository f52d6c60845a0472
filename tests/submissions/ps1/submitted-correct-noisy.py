# base: correct-einsum
# Correct, but prints debugging output, writes to stderr and triggers warnings on every call.
# %% before
import sys
import warnings
print("starting my notebook")
# %% conv2d
from numpy.lib.stride_tricks import sliding_window_view

def conv2d(image, kernel):
    print("conv2d called with", np.shape(image), np.shape(kernel))
    print("debug to stderr", file=sys.stderr)
    warnings.warn("just a warning", UserWarning)
    with np.errstate(divide="warn"):
        np.array([1.0]) / np.array([0.0])  # a RuntimeWarning
    image, kernel = np.asarray(image), np.asarray(kernel)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError("2-D please")
    if any(k > n for k, n in zip(kernel.shape, image.shape)):
        raise ValueError("kernel larger than image")
    return np.einsum("ijab,ab->ij", sliding_window_view(image.astype(float), kernel.shape), kernel.astype(float))
