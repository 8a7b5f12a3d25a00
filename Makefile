# LayerForge. `make run` and `make test` set everything up (idempotent), then run.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Headless Qt for the test and benchmark targets only; `make run` opens a real window.
HEADLESS := QT_QPA_PLATFORM=offscreen

.PHONY: run test bench soak lint setup system-deps package package-test clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

# Debian packages: the libraries Qt needs even offscreen (fonts, EGL, xkb), espeak-ng,
# the OpenSSH server and PostgreSQL the tests start; installed only when missing.
system-deps:
	@bash packaging/system-deps.sh

run: setup system-deps
	$(BIN)/layerforge gui resources/examples/lenet5.lforge

test: setup system-deps
	$(BIN)/ruff check engine app tests bench
	$(BIN)/lint-imports --no-cache
	$(HEADLESS) $(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --durations=25

bench: setup system-deps
	$(HEADLESS) $(BIN)/python -m bench

soak: setup system-deps
	$(HEADLESS) $(BIN)/python -m pytest -q -m slow -p no:cacheprovider

# One-folder bundle in dist/layerforge (PyInstaller, packaging/layerforge.spec), then the
# smoke test. PyInstaller comes from the `package` extra, installed on first use.
PKG_STAMP := $(VENV)/.package-installed

$(PKG_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install -q -e '.[dev,package]'
	@touch $(PKG_STAMP)

package: setup system-deps $(PKG_STAMP)
	@start=$$(date +%s); \
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist \
		--workpath build/pyinstaller packaging/layerforge.spec && \
	echo "built dist/layerforge in $$(( $$(date +%s) - start )) s;" \
		"$$(du -sh dist/layerforge | cut -f1) on disk, $$(find dist/layerforge -type f | wc -l) files"
	@$(MAKE) --no-print-directory package-test

# The built app, offscreen: window, a short training run in its own worker, ONNX export.
package-test:
	QT_QPA_PLATFORM=offscreen dist/layerforge/layerforge --self-test

clean:
	rm -rf $(VENV) build dist *.egg-info
