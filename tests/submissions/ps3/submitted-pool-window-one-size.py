# base: correct
# max_pool2d takes its window from size's first entry for both axes (the stride default is right).
# %% max_pool2d
def max_pool2d(x, size=2, stride=None):
    x = np.asarray(x)
    k = size[0] if isinstance(size, (tuple, list)) else size
    if stride is None:
        stride = size
    sh, sw = stride if isinstance(stride, (tuple, list)) else (stride, stride)
    n, c, h, w = x.shape
    oh, ow = (h - k) // sh + 1, (w - k) // sw + 1
    out = np.empty((n, c, oh, ow), dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = x[:, :, i * sh:i * sh + k, j * sw:j * sw + k].max(axis=(2, 3))
    return out
