# base: correct-loops
# conv2d never returns.
# %% conv2d
def conv2d(image, kernel):
    while True:
        pass
