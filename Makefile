# Two commands for a fresh clone (see README):
#   make run   - create .venv, install SVD Studio, open the app
#   make test  - create .venv, install the test extras, run the whole suite headless
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint clean bundle desktop desktop-uninstall

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e ".[test]"
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/svdstudio

test: $(VENV)/.installed-test
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m coverage run -m pytest
	$(BIN)/python -m coverage report --sort=cover --skip-covered | tail -n 30

lint: $(VENV)/.installed-test
	$(BIN)/ruff check svdstudio tests tools packaging
	$(BIN)/ruff format --check svdstudio tests tools packaging
	$(BIN)/lint-imports
	$(BIN)/mypy

# Packaging (packaging/README.md): the PyInstaller bundle in dist/, and the Linux launcher for
# .venv's svdstudio (per user, under ~/.local/share).
bundle:
	packaging/build_bundle.sh

desktop: $(VENV)/.installed-run
	packaging/linux/install-desktop.sh --exec "$(abspath $(BIN))/svdstudio"

desktop-uninstall:
	packaging/linux/install-desktop.sh --uninstall

clean:
	rm -rf $(VENV) build dist *.egg-info
