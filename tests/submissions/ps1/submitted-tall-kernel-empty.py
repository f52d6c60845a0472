# base: correct-loops
# convolve2d refuses a kernel only when it is larger on both axes: a taller but narrower kernel
# gives an empty array instead of a ValueError.
# %% convolve2d
def convolve2d(image, kernel):
    image = np.array(image, dtype=float)
    kernel = np.array(kernel, dtype=float)
    if kernel.ndim != 2 or image.ndim != 2:
        raise ValueError("need 2-D arrays")
    kh, kw = kernel.shape
    if kh > image.shape[0] and kw > image.shape[1]:
        raise ValueError("kernel is bigger than the image")
    out = np.zeros((max(image.shape[0] - kh + 1, 0), max(image.shape[1] - kw + 1, 0)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel[::-1, ::-1])
    return out
