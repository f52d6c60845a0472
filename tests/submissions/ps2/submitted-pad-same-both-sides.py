# base: correct
# zero_pad pads each axis by its first number on both sides (top for top and bottom, left for both).
# %% zero_pad
def zero_pad(image, padding):
    image = np.asarray(image)
    if np.isscalar(padding):
        padding = ((padding, padding), (padding, padding))
    (t, b), (l, r) = padding
    if min(t, b, l, r) < 0:
        raise ValueError("negative padding")
    return np.pad(image, ((t, t), (l, l)))
