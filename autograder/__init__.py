"""Reference-driven, sandboxed autograder for the convolution course.

Data flows one way: notebook -> cells -> run in sandbox -> outputs -> compare with reference ->
score and feedback -> gradebook/report. Each step has its own module; see README.md.
"""

__version__ = "0.1.0"
