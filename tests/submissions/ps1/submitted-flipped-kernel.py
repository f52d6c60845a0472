# conv2d flips the kernel (computes convolution); the other two are written independently and right.
# %% conv2d
def conv2d(image, kernel):
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2 or kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError("bad shapes")
    kh, kw = kernel.shape
    oh, ow = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((oh, ow))
    for a in range(kh):
        for b in range(kw):
            out += kernel[kh - 1 - a, kw - 1 - b] * image[a:a + oh, b:b + ow]
    return out
# %% convolve2d
def convolve2d(image, kernel):
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2 or kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError("bad shapes")
    kh, kw = kernel.shape
    oh, ow = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((oh, ow))
    for a in range(kh):
        for b in range(kw):
            out += kernel[kh - 1 - a, kw - 1 - b] * image[a:a + oh, b:b + ow]
    return out
# %% conv1d
def conv1d(signal, kernel, mode="full"):
    if mode not in ("full", "same", "valid"):
        raise ValueError("bad mode")
    a, v = np.asarray(signal), np.asarray(kernel)
    if v.size > a.size:
        a, v = v, a
    n, k = a.size, v.size
    full = np.zeros(n + k - 1, dtype=np.result_type(a, v))
    for j in range(k):
        full[j:j + n] += v[j] * a
    return {"full": full, "same": full[(k - 1) // 2:(k - 1) // 2 + n], "valid": full[k - 1:n]}[mode]
