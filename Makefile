# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Developer and CI entry points. Every check is a nox session (noxfile.py, antsibull-nox.toml), each in a
# virtualenv of its own under .nox; these targets name the sessions. `make test` runs everything CI runs.
# nox itself comes from the developer virtualenv $(VENV), built from tests/requirements.txt.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV ?= .venv
VENV_BIN := $(abspath $(VENV))/bin
# Tools called by other tools (ansible-lint runs ansible-galaxy, antsibull-changelog
# runs ansible-doc) must resolve to the venv too, so put it first on PATH.
export PATH := $(VENV_BIN):$(PATH)

BUILD := $(CURDIR)/build
# build/collections/ansible_collections/fleet/ghcr -> repo root, so the working tree is
# importable as the collection without installing it.
COLLECTIONS_PATH := $(BUILD)/collections
COLLECTION_LINK := $(COLLECTIONS_PATH)/ansible_collections/fleet/ghcr

# The controller matrix: ansible-core series (each on its own controller Python, see CONTROLLERS in noxfile.py).
SERIES ?= 2.19 2.20 2.21
# The series of `make demo` (the README's main job): the one this machine's own Python 3.11 runs.
DEMO_SERIES ?= 2.19
# nox reuses a session's virtualenv when it exists (pip still checks the requirements); a fresh clone makes them all.
NOX := $(VENV_BIN)/nox --reuse-venv=yes
# Extra arguments after `--` go to the session's tool, e.g. make sanity NOX_ARGS='-- --test validate-modules'
NOX_ARGS ?=

STAMP := $(VENV)/.requirements.stamp

# Print a section header: $(call header,text)
header = printf '\n==== %s ====\n' '$(1)'

.PHONY: help system-deps venv collection-path sessions lint docs units integration sanity build molecule demo demos bench scale test clean

help:
	@echo "make venv             create $(VENV) from tests/requirements.txt (nox, antsibull-nox, the bench's tools)"
	@echo "make sessions         list the nox sessions the targets below run (nox -l)"
	@echo "make lint             nox: ruff check, mypy, yamllint (antsibull-nox lint), ansible-lint, antsibull-changelog lint"
	@echo "make docs             nox: antsibull-docs lint-collection-docs, and the docs site into build/docsite (no warning allowed)"
	@echo "make units            nox: ansible-test units of ansible-core $(SERIES)"
	@echo "make integration      nox: pytest tests/integration and tests/harness (all on 2.19; modules, role, playbooks on the rest)"
	@echo "make sanity           nox: ansible-test sanity of ansible-core $(SERIES), with shellcheck"
	@echo "make build            nox: build the tarball, check its contents, render its docs from an install; galaxy-importer"
	@echo "make molecule         nox: Molecule scenarios of extensions/molecule, the registry_auth role on Debian containers"
	@echo "make demo             nox: local registry, demo fleet logged in from the vault-encrypted token, pulls proven ($(DEMO_SERIES))"
	@echo "make demos            nox: the demo on every ansible-core of $(SERIES)"
	@echo "make bench            per-host cost of ghcr_login, podman_login and the role against ping (prints figures)"
	@echo "make scale            the role against ping at 100 to 1000 hosts; redraws docs/bench/scale.png"
	@echo "make test             every nox session above but bench and scale; nox runs them all and fails if any failed"

# ---------------------------------------------------------------------------- setup

venv: $(STAMP)

# The Debian packages the demo and the tests drive for real (apt-get as root; otherwise it says what to run).
system-deps:
	@tools/system-deps.sh

# Re-install only when tests/requirements.txt is newer than the stamp (or the venv is gone).
$(STAMP): tests/requirements.txt tests/integration/requirements.txt tests/unit/requirements.txt extensions/molecule/requirements.txt
	@$(call header,venv: $(VENV))
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	@touch $@

collection-path:
	@mkdir -p $(dir $(COLLECTION_LINK))
	@if [ "$$(readlink $(COLLECTION_LINK) || true)" != "$(CURDIR)" ]; then \
		rm -rf $(COLLECTION_LINK) && ln -s $(CURDIR) $(COLLECTION_LINK); \
	fi


# Plain Python entry points (bench, scale, a quick local pytest) find the working tree as fleet.ghcr: Ansible through
# ANSIBLE_COLLECTIONS_PATH, Python imports (ansible_collections.fleet.ghcr....) through PYTHONPATH.
bench scale: export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_PATH)
bench scale: export PYTHONPATH := $(COLLECTIONS_PATH)$(if $(PYTHONPATH),:$(PYTHONPATH))

# ---------------------------------------------------------------------------- nox sessions

series_sessions = $(foreach series,$(SERIES),$(1)-$(series))

LINT_SESSIONS := lint ansible-lint changelog
DOCS_SESSIONS := docs-check docs
UNITS_SESSIONS := $(call series_sessions,ansible-test-units)
INTEGRATION_SESSIONS := $(call series_sessions,integration) older-core
SANITY_SESSIONS := $(call series_sessions,ansible-test-sanity)
BUILD_SESSIONS := build build-import-check
DEMO_SESSIONS := $(call series_sessions,demo)

sessions: venv
	$(NOX) -l

lint: venv
	$(NOX) -s $(LINT_SESSIONS) $(NOX_ARGS)

docs: venv collection-path
	$(NOX) -s $(DOCS_SESSIONS) $(NOX_ARGS)

units: venv
	$(NOX) -s $(UNITS_SESSIONS) $(NOX_ARGS)

# Needs the Debian packages of tools/system-deps.sh (make system-deps).
integration: venv collection-path
	$(NOX) -s $(INTEGRATION_SESSIONS) $(NOX_ARGS)

sanity: venv
	$(NOX) -s $(SANITY_SESSIONS) $(NOX_ARGS)

build: venv
	$(NOX) -s $(BUILD_SESSIONS) $(NOX_ARGS)

# Target images are debootstrapped once (root; .ci/run installs debootstrap and podman), kept in build/podman,
# their root file systems cached in ~/.cache/fleet-ghcr.
molecule: venv collection-path
	$(NOX) -s molecule $(NOX_ARGS)

demo: system-deps venv collection-path
	$(NOX) -s demo-$(DEMO_SERIES) $(NOX_ARGS)

demos: system-deps venv collection-path
	$(NOX) -s $(DEMO_SESSIONS) $(NOX_ARGS)

# ---------------------------------------------------------------------------- benchmark

# Not part of make test: it prints figures (ping, ghcr_login, podman_login and the registry_auth role, first run and
# re-run, with token requests) and judges nothing. make bench BENCH_ARGS='--sizes 10,50,200 --forks 2 --rounds 5'
BENCH_ARGS ?=
bench: venv collection-path
	@$(call header,bench: ghcr_login and podman_login and the role against ansible.builtin.ping)
	$(VENV_BIN)/python -m tools.bench $(BENCH_ARGS)

# The scale run of docs/docsite/rst/bench.rst: ping and the role at 100, 300 and 1,000 hosts, forks 2 and 5, one round each (about
# 25 minutes here). It rewrites docs/bench/scale.json and docs/bench/scale.png (matplotlib, installed into the venv).
SCALE_ARGS ?= --sizes 100,300,1000 --forks 2,5 --rounds 1 --arms ping,role,'role again'
scale: venv collection-path
	@$(call header,scale: the role against ping at 100 to 1000 hosts)
	$(VENV_BIN)/python -m tools.bench $(SCALE_ARGS) --json docs/bench/scale.json
	$(VENV_BIN)/python -c 'import matplotlib' 2>/dev/null || $(VENV_BIN)/python -m pip install --quiet --disable-pip-version-check matplotlib
	$(VENV_BIN)/python tools/plot_bench.py docs/bench/scale.json docs/bench/scale.png

# ---------------------------------------------------------------------------- everything

# One nox run: it goes on after a failed session, prints every session with its outcome and time, and fails if any
# failed. Each matrix cell prints the ansible-core and Python it ran.
TEST_SESSIONS := $(LINT_SESSIONS) $(DOCS_SESSIONS) $(UNITS_SESSIONS) $(SANITY_SESSIONS) $(BUILD_SESSIONS) \
	$(INTEGRATION_SESSIONS) molecule $(DEMO_SESSIONS)

# The whole output also goes to build/test.log; when a session fails, its error lines are repeated at the end, where a
# CI log that keeps only the tail still shows them.
test: system-deps venv collection-path
	@$(NOX) -s $(TEST_SESSIONS) $(NOX_ARGS) 2>&1 | tee $(BUILD)/test.log || { \
		echo; echo "==== what failed (from build/test.log) ===="; \
		grep -E '^(ERROR|FAILED|E  )|^nox > .*(failed|aborted|Error|not found)|Error:|error:' $(BUILD)/test.log | grep -v 'RETRYING' | tail -n 80; \
		exit 1; }

clean:
	rm -rf $(BUILD) .nox tests/output .pytest_cache .ruff_cache .hypothesis
