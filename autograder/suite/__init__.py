"""The graded test suites, one module per assignment: `test_<assignment>.py`."""
