"""nbgrader's configuration for this course (used by `python -m autograder build`)."""

c = get_config()  # noqa: F821 (nbgrader provides get_config)

c.CourseDirectory.root = "."
# The notebooks' text sources stay with the instructor.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.pct.py"]
c.ClearSolutions.code_stub = {"python": "# TODO: your code here\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# `nbgrader autograde` runs every cell, the training cells too (about 40 s in notebook 17),
# where nbgrader's default stops a cell after 30 s.
c.Execute.timeout = 120
