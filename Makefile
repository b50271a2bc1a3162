# The two set-up commands of the README: `make up` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: up test install system-deps bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

system-deps:
	@scripts/install-system-deps

install: system-deps $(STAMP)

up: install
	$(BIN)/creditstream up

# pytest's exit status 5 means no test ran: that is a failure here, not a pass. Two workers, a
# test file each at a time (module-scoped stacks stay in one process; every stack has its own ports
# and data directory).
test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest ran no test"; exit 1; fi; exit $$rc

bench: install
	$(BIN)/python -m bench
