# LayerForge. `make run` and `make test` set everything up (idempotent), then run.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export QT_QPA_PLATFORM ?= offscreen

.PHONY: run test bench soak lint setup system-deps package clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

# Shared libraries Qt needs even offscreen (fonts, EGL, xkb); installed only when missing.
system-deps:
	@bash packaging/system-deps.sh

run: setup system-deps
	env -u QT_QPA_PLATFORM $(BIN)/layerforge gui resources/examples/lenet5.lforge

test: setup system-deps
	$(BIN)/ruff check engine app tests bench
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: setup system-deps
	$(BIN)/python -m bench

soak: setup system-deps
	$(BIN)/python -m pytest -q -m slow -p no:cacheprovider

clean:
	rm -rf $(VENV) build dist *.egg-info
