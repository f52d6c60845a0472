# base: correct
# strided_conv2d's 'same' puts the odd extra pixel before (top/left).
# %% strided_conv2d
def strided_conv2d(image, kernel, stride=1, padding=0, dilation=1):
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError("2-D only")
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    if min(sh, sw, dh, dw) < 1:
        raise ValueError("stride and dilation must be >= 1")
    kh, kw = kernel.shape
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if padding == "valid":
        pads = ((0, 0), (0, 0))
    elif padding == "same":
        pads = []
        for n, e, s in ((image.shape[0], eh, sh), (image.shape[1], ew, sw)):
            total = max((-(-n // s) - 1) * s + e - n, 0)
            pads.append((total - total // 2, total // 2))
    elif isinstance(padding, str):
        raise ValueError("unknown padding")
    else:
        ph, pw = pair(padding)
        if ph < 0 or pw < 0:
            raise ValueError("negative padding")
        pads = ((ph, ph), (pw, pw))
    x = np.pad(image, pads)
    if eh > x.shape[0] or ew > x.shape[1]:
        raise ValueError("kernel does not fit")
    oh, ow = (x.shape[0] - eh) // sh + 1, (x.shape[1] - ew) // sw + 1
    out = np.empty((oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = np.sum(x[i * sh:i * sh + eh:dh, j * sw:j * sw + ew:dw] * kernel)
    return out
