# base: correct-loops
# conv1d centres 'same' one step late for even kernels.
# %% conv1d
def conv1d(signal, kernel, mode="full"):
    if mode not in ("full", "same", "valid"):
        raise ValueError("bad mode")
    a, v = np.asarray(signal), np.asarray(kernel)
    if v.size > a.size:
        a, v = v, a
    n, k = a.size, v.size
    full = np.zeros(n + k - 1, dtype=np.result_type(a, v))
    for j in range(k):
        full[j:j + n] += v[j] * a
    return {"full": full, "same": full[k // 2:k // 2 + n], "valid": full[k - 1:n]}[mode]
