# base: correct
# same_padding puts the odd extra pixel before (top/left) instead of after.
# %% same_padding
def same_padding(n, k, stride=1, dilation=1):
    out = math.ceil(n / stride)
    total = max((out - 1) * stride + dilation * (k - 1) + 1 - n, 0)
    return total - total // 2, total // 2
