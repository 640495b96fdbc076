# Two entry points for a fresh machine: `make demo` (set up, then train the anchor α-IoU cell of the committed CPU study) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint format bench clean

setup: $(STAMP)

# pip (not uv/poetry) so that the torch wheels on local disk are used where a machine has them;
# constraints.txt pins the packages that set the study's numerics (so `make demo` prints the README's table).
$(STAMP): pyproject.toml setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,export,ray]" -c constraints.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/yolo-alpha demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Then the wheel as users install it: built, installed beside .venv's packages, every verb run from another folder.
test: lint
	$(BIN)/pytest -q
	VENV=$(abspath $(VENV)) scripts/wheel_check.sh

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
