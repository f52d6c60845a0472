# base: correct-loops
# conv2d multiplies in the image's dtype: uint8 sums wrap around above 255.
# %% conv2d
def conv2d(image, kernel):
    image, kernel = np.asarray(image), np.asarray(kernel)
    if image.ndim != 2 or kernel.ndim != 2 or kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError("bad shapes")
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1), dtype=image.dtype)
    for a in range(kh):
        for b in range(kw):
            out += (kernel[a, b] * image[a:a + out.shape[0], b:b + out.shape[1]]).astype(image.dtype)
    return out.astype(float)
