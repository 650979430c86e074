# The two commands of the README: `make` sets everything up and grades the sample class;
# `make test` runs the tests. Both create the virtual environment .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: all grade-sample test lint build check-build benchmark clean

all: grade-sample

$(BIN)/activate-course: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

grade-sample: $(BIN)/activate-course
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m autograder grade samples/submitted --out grades

test: $(BIN)/activate-course
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

build: $(BIN)/activate-course
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m autograder build

benchmark: $(BIN)/activate-course
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/grading_speed.py

clean:
	rm -rf $(VENV) grades
