# base: correct
# conv_output_size uses true division: the right numbers, as floats. conv_output_shape is written
# independently and stays right.
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
    return math.floor((n + 2 * padding - effective) / stride) + 1.0
# %% conv_output_shape
def conv_output_shape(input_shape, kernel_shape, stride=1, padding=0, dilation=1):
    as_pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    out = []
    for n, k, s, p, d in zip(input_shape, kernel_shape, as_pair(stride), as_pair(padding), as_pair(dilation)):
        for v in (n, k, s, p, d):
            if type(v) is bool or not isinstance(v, (int, np.integer)):
                raise TypeError("integers only")
        if n < 1 or k < 1 or s < 1 or d < 1 or p < 0 or d * (k - 1) + 1 > n + 2 * p:
            raise ValueError("out of range")
        out.append((n + 2 * p - d * (k - 1) - 1) // s + 1)
    return tuple(out)
