# base: correct-loops
# conv1d checks the mode but always returns the full convolution.
# %% conv1d
def conv1d(signal, kernel, mode="full"):
    if mode not in ("full", "same", "valid"):
        raise ValueError("bad mode")
    signal, kernel = np.asarray(signal), np.asarray(kernel)
    n, k = len(signal), len(kernel)
    out = np.zeros(n + k - 1, dtype=np.result_type(signal, kernel))
    for j in range(k):
        out[j:j + n] += kernel[j] * signal
    return out
