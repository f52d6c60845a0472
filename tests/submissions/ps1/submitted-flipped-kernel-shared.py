# base: correct-einsum
# conv2d flips the kernel; convolve2d (correct) is written as conv2d(image, flipped kernel), so
# it calls the buggy conv2d. Each function is judged on its own: only conv2d loses points.
# %% conv2d
from numpy.lib.stride_tricks import sliding_window_view

def conv2d(image, kernel):
    image, kernel = np.asarray(image), np.asarray(kernel)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError("2-D only")
    if any(k > n for k, n in zip(kernel.shape, image.shape)):
        raise ValueError("kernel larger than image")
    windows = sliding_window_view(image.astype(np.float64), kernel.shape)
    return np.einsum("ijab,ab->ij", windows, kernel[::-1, ::-1].astype(np.float64))
