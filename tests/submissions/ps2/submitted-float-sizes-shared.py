# base: correct
# conv_output_size returns floats; conv_output_shape (correct) calls it. Only conv_output_size
# loses points.
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
    return (n + 2 * padding - effective) / stride // 1 + 1
