# base: correct-loops
# conv2d is right but flips the caller's kernel in place (and flips it back only in its own copy).
# %% conv2d
def conv2d(image, kernel):
    image = np.asarray(image, dtype=float)
    if image.ndim != 2 or np.ndim(kernel) != 2 or kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError("bad shapes")
    kernel[...] = kernel[::-1, ::-1]          # modifies the caller's array
    k = kernel[::-1, ::-1].astype(float)
    kh, kw = k.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for a in range(kh):
        for b in range(kw):
            out += k[a, b] * image[a:a + out.shape[0], b:b + out.shape[1]]
    return out
