# A student who convolves through the FFT (allowed: the FFT-based convolution is their own).
# %% conv2d
def conv2d(image, kernel):
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError("2-D only")
    H, W = image.shape
    kh, kw = kernel.shape
    if kh > H or kw > W:
        raise ValueError("kernel too large")
    spectrum = np.fft.rfft2(image) * np.fft.rfft2(kernel[::-1, ::-1], s=(H, W))
    full = np.fft.irfft2(spectrum, s=(H, W))
    return full[kh - 1:, kw - 1:].copy()
# %% convolve2d
def convolve2d(image, kernel):
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError("2-D only")
    H, W = image.shape
    kh, kw = kernel.shape
    if kh > H or kw > W:
        raise ValueError("kernel too large")
    full = np.fft.irfft2(np.fft.rfft2(image) * np.fft.rfft2(kernel, s=(H, W)), s=(H, W))
    return full[kh - 1:, kw - 1:].copy()
# %% conv1d
def conv1d(signal, kernel, mode="full"):
    if mode not in ("full", "same", "valid"):
        raise ValueError("mode must be full, same or valid")
    a, v = np.asarray(signal), np.asarray(kernel)
    if len(v) > len(a):
        a, v = v, a
    n, k = len(a), len(v)
    size = n + k - 1
    full = np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(v, size), size)
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(v.dtype, np.integer):
        full = np.rint(full).astype(np.int64)
    if mode == "full":
        return full
    if mode == "same":
        return full[(k - 1) // 2:(k - 1) // 2 + n]
    return full[k - 1:n]
