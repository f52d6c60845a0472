# base: correct-loops
# A student cell at the top raises; later cells still run and their functions are graded.
# %% before
raise RuntimeError("I left a broken experiment in my notebook")
