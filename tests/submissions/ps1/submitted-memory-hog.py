# base: correct-loops
# conv2d tries to take far more memory than any limit allows.
# %% conv2d
def conv2d(image, kernel):
    hog = []
    while True:
        hog.append(np.ones(50_000_000))
