# Independently written: padding with np.pad, im2col for the layer, sliding windows for pooling.
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
            pads.append((total // 2, total - total // 2))
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
            patch = x[i * sh:i * sh + eh:dh, j * sw:j * sw + ew:dw]
            out[i, j] = np.sum(patch * kernel)
    return out
# %% conv_forward
def conv_forward(x, weight, bias=None, stride=1, padding=0):
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    x, weight = np.asarray(x, dtype=float), np.asarray(weight, dtype=float)
    N, C, H, W = x.shape
    F, C2, kh, kw = weight.shape
    if C != C2:
        raise ValueError(f"channel mismatch: {C} vs {C2}")
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    cols = np.empty((N, oh, ow, C * kh * kw))
    for i in range(oh):
        for j in range(ow):
            cols[:, i, j, :] = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].reshape(N, -1)
    out = cols @ weight.reshape(F, -1).T
    if bias is not None:
        out = out + np.asarray(bias, dtype=float)
    return out.transpose(0, 3, 1, 2)
# %% max_pool2d
from numpy.lib.stride_tricks import sliding_window_view

def max_pool2d(x, size=2, stride=None):
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    x = np.asarray(x)
    kh, kw = pair(size)
    sh, sw = pair(stride) if stride is not None else (kh, kw)
    if x.ndim != 4 or kh < 1 or kw < 1 or kh > x.shape[2] or kw > x.shape[3]:
        raise ValueError("bad input")
    windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return windows.max(axis=(4, 5))
