# base: correct
# zero_pad allocates with np.zeros' default dtype.
# %% zero_pad
def zero_pad(image, padding):
    image = np.asarray(image)
    if np.isscalar(padding):
        padding = ((padding, padding), (padding, padding))
    (t, b), (l, r) = padding
    if min(t, b, l, r) < 0:
        raise ValueError("negative padding")
    out = np.zeros((image.shape[0] + t + b, image.shape[1] + l + r))
    out[t:t + image.shape[0], l:l + image.shape[1]] = image
    return out
