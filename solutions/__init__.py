"""Reference implementations of the course's graded functions, one module per notebook.

Each notebook's solution regions are generated from these modules by
`python -m autograder build`, so a solution is written once, here.
"""
