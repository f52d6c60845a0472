# A student who writes plain loops over output pixels.
# %% conv2d
def conv2d(image, kernel):
    image = np.array(image, dtype=float)
    kernel = np.array(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError("image and kernel must be 2-D")
    H, W = image.shape
    kh, kw = kernel.shape
    if kh > H or kw > W:
        raise ValueError("kernel is bigger than the image")
    out = np.empty((H - kh + 1, W - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            total = 0.0
            for a in range(kh):
                for b in range(kw):
                    total += image[i + a, j + b] * kernel[a, b]
            out[i, j] = total
    return out
# %% convolve2d
def convolve2d(image, kernel):
    image = np.array(image, dtype=float)
    kernel = np.array(kernel, dtype=float)
    if kernel.ndim != 2 or image.ndim != 2:
        raise ValueError("need 2-D arrays")
    kh, kw = kernel.shape
    if kh > image.shape[0] or kw > image.shape[1]:
        raise ValueError("kernel is bigger than the image")
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kernel[::-1, ::-1])
    return out
# %% conv1d
def conv1d(signal, kernel, mode="full"):
    if mode not in {"full", "same", "valid"}:
        raise ValueError("bad mode " + str(mode))
    a = list(np.asarray(signal))
    v = list(np.asarray(kernel))
    if len(v) > len(a):
        a, v = v, a
    n, k = len(a), len(v)
    full = []
    for t in range(n + k - 1):
        s = 0
        for j in range(k):
            if 0 <= t - j < n:
                s = s + a[t - j] * v[j]
        full.append(s)
    full = np.array(full)
    if mode == "full":
        return full
    if mode == "same":
        lo = (k - 1) // 2
        return full[lo:lo + n]
    return full[k - 1:n]
