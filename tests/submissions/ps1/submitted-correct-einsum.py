# A student who uses sliding_window_view and einsum.
# %% conv2d
from numpy.lib.stride_tricks import sliding_window_view

def conv2d(image, kernel):
    image, kernel = np.asarray(image), np.asarray(kernel)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"expected 2-D inputs, got {image.ndim}-D and {kernel.ndim}-D")
    if any(k > n for k, n in zip(kernel.shape, image.shape)):
        raise ValueError("kernel larger than image")
    windows = sliding_window_view(image.astype(np.float64), kernel.shape)
    return np.einsum("ijab,ab->ij", windows, kernel.astype(np.float64))
# %% convolve2d
def convolve2d(image, kernel):
    kernel = np.asarray(kernel)
    if kernel.ndim != 2:
        raise ValueError("kernel must be 2-D")
    return conv2d(image, np.flip(kernel))
# %% conv1d
def conv1d(signal, kernel, mode="full"):
    if mode not in ("full", "same", "valid"):
        raise ValueError(mode)
    a, v = np.asarray(signal), np.asarray(kernel)
    if v.size > a.size:
        a, v = v, a
    k = v.size
    padded = np.concatenate([np.zeros(k - 1, dtype=a.dtype), a, np.zeros(k - 1, dtype=a.dtype)])
    full = sliding_window_view(padded, k) @ v[::-1]
    if mode == "full":
        return full
    if mode == "valid":
        return full[k - 1:a.size]
    start = (k - 1) // 2
    return full[start:start + a.size]
