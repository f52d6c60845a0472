# base: correct-loops
# conv2d keeps the image's size ('same'): it zero-pads k // 2 before and the rest after, then slides.
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
    padded = np.zeros((H + kh - 1, W + kw - 1))
    padded[kh // 2:kh // 2 + H, kw // 2:kw // 2 + W] = image
    out = np.empty((H, W))
    for i in range(H):
        for j in range(W):
            out[i, j] = np.sum(padded[i:i + kh, j:j + kw] * kernel)
    return out
