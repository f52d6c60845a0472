# base: correct-loops
# conv1d hands the work to np.convolve, called directly (numpy runs numpy.correlate underneath).
# %% conv1d
def conv1d(signal, kernel, mode="full"):
    if mode not in ("full", "same", "valid"):
        raise ValueError("bad mode")
    return np.convolve(signal, kernel, mode)
