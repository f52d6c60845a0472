# base: correct
# conv_forward correlates each channel pair with scipy (right values, not from scratch).
# %% conv_forward
from scipy.signal import correlate2d

def conv_forward(x, weight, bias=None, stride=1, padding=0):
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    x, weight = np.asarray(x, dtype=float), np.asarray(weight, dtype=float)
    N, C, H, W = x.shape
    F, C2, kh, kw = weight.shape
    if C != C2:
        raise ValueError("channel mismatch")
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = []
    for n in range(N):
        maps = []
        for f in range(F):
            total = sum(correlate2d(xp[n, c], weight[f, c], mode="valid") for c in range(C))
            maps.append(total[::sh, ::sw] + (0.0 if bias is None else bias[f]))
        out.append(maps)
    return np.array(out)
