# base: correct
# conv_forward adds the bias inside the loop over kernel taps.
# %% conv_forward
def conv_forward(x, weight, bias=None, stride=1, padding=0):
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    x, weight = np.asarray(x, dtype=float), np.asarray(weight, dtype=float)
    N, C, H, W = x.shape
    F, C2, kh, kw = weight.shape
    if C != C2:
        raise ValueError("channel mismatch")
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    out = np.zeros((N, F, oh, ow))
    for a in range(kh):
        for b in range(kw):
            patch = xp[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw]
            out += np.einsum("nchw,fc->nfhw", patch, weight[:, :, a, b])
            if bias is not None:
                out += np.asarray(bias)[None, :, None, None]
    return out
