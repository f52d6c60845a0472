# Independently written, contract-following answers (no notebook-specific extras).
# %% conv_output_size
def conv_output_size(n, k, stride=1, padding=0, dilation=1):
    for v in (n, k, stride, padding, dilation):
        if type(v) is bool or not isinstance(v, (int, np.integer)):
            raise TypeError("all arguments must be integers")
    if n < 1 or k < 1 or stride < 1 or dilation < 1 or padding < 0:
        raise ValueError("argument out of range")
    effective = dilation * (k - 1) + 1
    if effective > n + 2 * padding:
        raise ValueError("kernel does not fit")
    return int(math.floor((n + 2 * padding - effective) / stride)) + 1
# %% conv_output_shape
def conv_output_shape(input_shape, kernel_shape, stride=1, padding=0, dilation=1):
    as_pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    s, p, d = as_pair(stride), as_pair(padding), as_pair(dilation)
    return (conv_output_size(input_shape[0], kernel_shape[0], s[0], p[0], d[0]),
            conv_output_size(input_shape[1], kernel_shape[1], s[1], p[1], d[1]))
# %% same_padding
def same_padding(n, k, stride=1, dilation=1):
    out = math.ceil(n / stride)
    need = (out - 1) * stride + dilation * (k - 1) + 1 - n
    total = need if need > 0 else 0
    return total // 2, total - total // 2
# %% zero_pad
def zero_pad(image, padding):
    image = np.asarray(image)
    if np.isscalar(padding):
        padding = ((padding, padding), (padding, padding))
    (t, b), (l, r) = padding
    if min(t, b, l, r) < 0:
        raise ValueError("negative padding")
    out = np.zeros((image.shape[0] + t + b, image.shape[1] + l + r), dtype=image.dtype)
    out[t:t + image.shape[0], l:l + image.shape[1]] = image
    return out
# %% transposed_conv_output_size
def transposed_conv_output_size(n, k, stride=1, padding=0, output_padding=0, dilation=1):
    if min(n, k, stride, dilation) < 1 or min(padding, output_padding) < 0:
        raise ValueError("out of range")
    if output_padding >= max(stride, dilation):
        raise ValueError("output_padding must be smaller than stride or dilation")
    return (n - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1
