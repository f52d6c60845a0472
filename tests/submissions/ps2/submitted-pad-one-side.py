# base: correct
# zero_pad makes the padded size but copies the image into the top-left corner: all the zeros after it.
# %% zero_pad
def zero_pad(image, padding):
    image = np.asarray(image)
    if np.isscalar(padding):
        padding = ((padding, padding), (padding, padding))
    (t, b), (l, r) = padding
    if min(t, b, l, r) < 0:
        raise ValueError("negative padding")
    h, w = image.shape
    out = np.zeros((h + t + b, w + l + r), dtype=image.dtype)
    out[:h, :w] = image
    return out
