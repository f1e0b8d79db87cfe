# The two commands of the README: `make book` builds the book, `make test` runs the tests.
# Each first installs what it needs into a local virtual environment (.venv).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Offline data (MNIST, the published Nanda et al. checkpoint): the folder beside the repository.
export GROKUTILS_DATA ?= $(abspath ../shared/data)

.PHONY: install browser test book bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# Every chapter executed once at the smoke profile by nbval (book/, first: it fills the run cache), then the
# unit and chapter tests, every chapter as a dry run at book and paper (tests/test_dryrun.py), and the book build
# with -W (which finds the chapters' runs in that cache).
test: install browser
	GROKUTILS_PROFILE=smoke $(BIN)/python -m pytest book tests --nbval-lax -p no:cacheprovider -ra

# Debian's Chromium for the browser test (tests/test_browser.py), installed when missing (needs root or sudo).
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The rendered book at the profile in $GROKUTILS_PROFILE (default: book), in _build/html: each chapter's runs trained
# first, with its name and last cost printed before it, then jupyter-book build -W -n --keep-going, then a table of
# every chapter's wall time (grokutils/book/build.py).
book: install
	$(BIN)/python -m grokutils.book.build

# Milliseconds per training step of the canonical settings on this machine.
bench: install
	$(BIN)/python -m grokutils.bench

clean:
	rm -rf _build
