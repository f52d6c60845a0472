# base: correct
# strided_conv2d accepts dilation but never uses it.
# %% strided_conv2d
def strided_conv2d(image, kernel, stride=1, padding=0, dilation=1):
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError("2-D only")
    (sh, sw) = pair(stride)
    kh, kw = kernel.shape
    if padding == "valid":
        pads = ((0, 0), (0, 0))
    elif padding == "same":
        pads = []
        for n, e, s in ((image.shape[0], kh, sh), (image.shape[1], kw, sw)):
            total = max((-(-n // s) - 1) * s + e - n, 0)
            pads.append((total // 2, total - total // 2))
    else:
        ph, pw = pair(padding)
        pads = ((ph, ph), (pw, pw))
    x = np.pad(image, pads)
    oh, ow = (x.shape[0] - kh) // sh + 1, (x.shape[1] - kw) // sw + 1
    out = np.empty((oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = np.sum(x[i * sh:i * sh + kh, j * sw:j * sw + kw] * kernel)
    return out
