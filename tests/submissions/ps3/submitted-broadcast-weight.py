# base: correct
# conv_forward lets a 1-channel weight broadcast over every input channel instead of refusing it.
# %% conv_forward
def conv_forward(x, weight, bias=None, stride=1, padding=0):
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    x, weight = np.asarray(x, dtype=float), np.asarray(weight, dtype=float)
    N, C, H, W = x.shape
    F, C2, kh, kw = weight.shape
    if C2 not in (1, C):
        raise ValueError("channel mismatch")
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    out = np.zeros((N, F, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, None, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = (patch * weight[None]).sum(axis=(2, 3, 4))
    if bias is not None:
        out += np.asarray(bias)[None, :, None, None]
    return out
