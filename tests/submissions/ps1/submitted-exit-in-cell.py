# base: correct-loops
# conv2d's solution cell ends the process after defining the function; a later student cell kills
# the submission's parent. Only conv2d (defined in the fatal cell) is lost.
# %% conv2d
import os

def conv2d(image, kernel):
    return np.zeros((1, 1))

os._exit(0)
# %% after
import os, signal
os.kill(os.getppid(), signal.SIGKILL)
