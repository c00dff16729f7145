# Copyright (c) fleet.ghcr contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Developer and CI entry points. `make test` runs everything CI runs.
# Every tool comes from the virtualenv $(VENV), built from tests/requirements.txt.

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
# ansible-test resolves the real path of the collection, so sanity runs on a real copy.
SANITY_ROOT := $(BUILD)/sanity/ansible_collections/fleet/ghcr
SANITY_PYTHON ?= 3.11
# Extra ansible-test options, e.g. make sanity SANITY_ARGS='-v --test validate-modules'
SANITY_ARGS ?=

STAMP := $(VENV)/.requirements.stamp

# Print a section header: $(call header,text)
header = printf '\n==== %s ====\n' '$(1)'

.PHONY: help system-deps venv collection-path lint units integration matrix sanity build molecule demo bench scale test clean

help:
	@echo "make venv             create $(VENV) from tests/requirements.txt"
	@echo "make collection-path  link $(COLLECTION_LINK) to this checkout"
	@echo "make lint             ruff check, ansible-lint, antsibull-changelog lint"
	@echo "make units            pytest tests/unit"
	@echo "make integration      pytest tests/integration (the product) and tests/harness (the test stack itself)"
	@echo "make sanity           ansible-test sanity on a copy under build/sanity"
	@echo "make build            build the collection tarball and render its plugin docs from an install"
	@echo "make molecule         Molecule scenarios of extensions/molecule: the registry_auth role on Debian containers"
	@echo "make demo             local registry, demo fleet logged in from the vault-encrypted token, pulls proven"
	@echo "make matrix           units and playbook-level integration tests on ansible-core 2.20 and 2.21"
	@echo "make bench            per-host cost of ghcr_login, podman_login and the role against ping (prints figures)"
	@echo "make scale            the role against ping at 100 to 1000 hosts; redraws docs/bench/scale.png"
	@echo "make test             all of the above but bench and scale; fails if any step fails"

# ---------------------------------------------------------------------------- setup

venv: $(STAMP)

# The Debian packages the demo and the tests drive for real (apt-get as root; otherwise it says what to run).
system-deps:
	@tools/system-deps.sh

# Re-install only when tests/requirements.txt is newer than the stamp (or the venv is gone).
$(STAMP): tests/requirements.txt
	@$(call header,venv: $(VENV))
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	@touch $@

collection-path:
	@mkdir -p $(dir $(COLLECTION_LINK))
	@if [ "$$(readlink $(COLLECTION_LINK) || true)" != "$(CURDIR)" ]; then \
		rm -rf $(COLLECTION_LINK) && ln -s $(CURDIR) $(COLLECTION_LINK); \
	fi

# Test targets find the working tree as fleet.ghcr: Ansible through ANSIBLE_COLLECTIONS_PATH,
# plain Python imports (ansible_collections.fleet.ghcr....) through PYTHONPATH.
units integration demo bench: export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_PATH)
units integration demo bench: export PYTHONPATH := $(COLLECTIONS_PATH)$(if $(PYTHONPATH),:$(PYTHONPATH))

# Run pytest on a directory. pytest exits 5 when it collects no test: that is a failure here.
# `python -m pytest` puts the repo root on sys.path, so tests can import tests.support.
define pytest
	$(VENV_BIN)/python -m pytest $(1) -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "FAILED: pytest collected no tests in $(1)" >&2; fi; \
	exit $$rc
endef

# ---------------------------------------------------------------------------- checks

# ansible-lint installs a copy of the collection into its cache, by default ./.ansible in the
# working tree. With ANSIBLE_HOME set it uses that directory instead.
lint: export ANSIBLE_HOME := $(abspath $(VENV))/.ansible
lint: venv
	@$(call header,lint: ruff check)
	ruff check .
	@$(call header,lint: ansible-lint)
	ansible-lint
	@$(call header,lint: antsibull-changelog lint)
	antsibull-changelog lint

units: venv collection-path
	@$(call header,units: pytest tests/unit)
	@set +e; $(call pytest,tests/unit)

integration: venv collection-path
	@$(call header,integration: pytest tests/integration tests/harness)
	@set +e; $(call pytest,tests/integration tests/harness)

# ansible-test --venv bootstraps pip into each test virtualenv with a get-pip script that
# it downloads from ci-files.testing.ansible.com unless ~/.ansible/test/cache already holds
# it (https://github.com/ansible/ansible/issues/77304). That host is unreachable here, so a
# stand-in goes there first: pip from the interpreter's own ensurepip, then the pinned pip
# from the package index pip is configured with. An existing script is left alone.
define GET_PIP_STANDIN
"""Offline stand-in for get-pip.py, written by the fleet.ghcr Makefile (make sanity)."""
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *args])
for name in ("setuptools", "wheel"):
    if f"--no-{name}" in sys.argv:
        subprocess.call([sys.executable, "-m", "pip", "uninstall", "--quiet", "--yes", name])
endef
export GET_PIP_STANDIN

# Copy exactly what git would ship (tracked plus untracked-not-ignored files as they are in
# the working tree; tracked files deleted from the tree are left out) and make the copy its
# own git repository: ansible-test asks git which files belong to the collection, and would
# otherwise find the enclosing checkout, where build/ is ignored.
sanity: venv
	@$(call header,sanity: copy to $(SANITY_ROOT))
	rm -rf $(SANITY_ROOT)
	mkdir -p $(SANITY_ROOT)
	git ls-files -z --cached --others --exclude-standard \
		| while IFS= read -r -d '' f; do if [ -e "$$f" ] || [ -L "$$f" ]; then printf '%s\0' "$$f"; fi; done \
		| tar --null --no-recursion -T - -cf - | tar -C $(SANITY_ROOT) -xf -
	cd $(SANITY_ROOT) && git init -q && git add -A
	@pip_version=$$($(VENV_BIN)/python -c 'import types; from ansible_test._internal.python_requirements import get_venv_packages as p; print(p(types.SimpleNamespace(version="$(SANITY_PYTHON)"))["pip"])'); \
	get_pip=$$HOME/.ansible/test/cache/get_pip_$${pip_version//./_}.py; \
	if [ ! -s "$$get_pip" ]; then \
		mkdir -p "$$(dirname "$$get_pip")" && printf '%s\n' "$$GET_PIP_STANDIN" >"$$get_pip"; \
		echo "wrote an offline pip $$pip_version bootstrap script for ansible-test: $$get_pip"; \
	fi
	@$(call header,sanity: ansible-test sanity --venv --python $(SANITY_PYTHON))
	cd $(SANITY_ROOT) && ansible-test sanity --venv --python $(SANITY_PYTHON) --color no $(SANITY_ARGS)

# Build the tarball, install it into a throw-away collections dir, and render the docs of
# every module and lookup from that install with ansible-doc. Any warning, error or empty
# output fails the target, so a plugin whose docs do not render (or that the tarball lost)
# cannot pass.
# Paths that must not be in the built collection: developer tools and tests, and anything that looks like a secret.
TARBALL_FORBIDDEN := ^(tests|tools|extensions|inventory|changelogs/fragments|\.ci|\.venv|build)/|^(Makefile|ruff\.toml|\.ansible-lint|\.yamllint)$$|vault|pass(word)?[^/]*\.txt$$|\.pem$$|\.key$$

GALAXY_IMPORTER_VENV := $(BUILD)/galaxy-importer-venv

build: venv
	@$(call header,build: ansible-galaxy collection build)
	rm -f $(BUILD)/fleet-ghcr-*.tar.gz
	ansible-galaxy collection build --force --output-path $(BUILD) .
	@$(call header,build: nothing developer-only or secret-looking in the tarball)
	@found=$$(tar -tzf $(BUILD)/fleet-ghcr-*.tar.gz | grep -E '$(TARBALL_FORBIDDEN)' || true); \
	if [ -n "$$found" ]; then echo "$$found" >&2; echo "FAILED: these must stay out of the tarball (galaxy.yml build_ignore)" >&2; exit 1; fi; \
	echo "the tarball holds none of: $(TARBALL_FORBIDDEN)"
	@$(call header,build: galaxy-importer on the tarball (in its own virtualenv: it pins its own ansible-lint))
	@[ -x $(GALAXY_IMPORTER_VENV)/bin/python ] || { $(PYTHON) -m venv $(GALAXY_IMPORTER_VENV) \
		&& $(GALAXY_IMPORTER_VENV)/bin/pip install --quiet --disable-pip-version-check galaxy-importer; }
	@mkdir -p $(BUILD)/galaxy-importer-tmp && printf '[galaxy-importer]\nRUN_ANSIBLE_TEST = False\nRUN_ANSIBLE_LINT = True\nTMP_ROOT_DIR = %s\n' \
		$(BUILD)/galaxy-importer-tmp >$(BUILD)/galaxy-importer.cfg
	cd $(BUILD) && GALAXY_IMPORTER_CONFIG=$(BUILD)/galaxy-importer.cfg PATH=$(GALAXY_IMPORTER_VENV)/bin:$$PATH \
		$(GALAXY_IMPORTER_VENV)/bin/python -m galaxy_importer.main $$(ls $(BUILD)/fleet-ghcr-*.tar.gz) | grep -v '^Loading '
	@$(call header,build: install the tarball and render plugin docs)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	tarball=$$(ls $(BUILD)/fleet-ghcr-*.tar.gz); \
	export ANSIBLE_COLLECTIONS_PATH="$$tmp" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false ANSIBLE_NOCOLOR=1; \
	ansible-galaxy collection install --offline -p "$$tmp" "$$tarball"; \
	found=0; \
	for spec in module:plugins/modules lookup:plugins/lookup; do \
		type=$${spec%%:*}; \
		for f in $${spec#*:}/*.py; do \
			name=$$(basename "$$f" .py); \
			[ -e "$$f" ] && [ "$$name" != __init__ ] || continue; \
			found=$$((found + 1)); \
			echo "ansible-doc -t $$type fleet.ghcr.$$name"; \
			if ! ansible-doc -t "$$type" "fleet.ghcr.$$name" >"$$tmp/doc.out" 2>"$$tmp/doc.err" \
				|| [ -s "$$tmp/doc.err" ] || ! [ -s "$$tmp/doc.out" ]; then \
				cat "$$tmp/doc.out" "$$tmp/doc.err" >&2; \
				echo "FAILED: the docs of $$type fleet.ghcr.$$name do not render from the built collection" >&2; \
				exit 1; \
			fi; \
			head -n 1 "$$tmp/doc.out"; \
		done; \
	done; \
	echo "rendered the docs of $$found plugin(s) from $$(basename "$$tarball")"; \
	for f in playbooks/*.yml; do \
		name=fleet.ghcr.$$(basename "$$f" .yml); \
		echo "ansible-playbook --syntax-check $$name"; \
		ansible-playbook --syntax-check -i localhost, "$$name" >"$$tmp/play.out" 2>&1 \
			|| { cat "$$tmp/play.out" >&2; echo "FAILED: the installed playbook $$name does not load" >&2; exit 1; }; \
	done

# ---------------------------------------------------------------------------- molecule

# Scenarios default and logout of extensions/molecule, run from extensions/ with the Podman driver
# against a local GHCR-like registry. Target images are debootstrapped once (root; .ci/run installs
# debootstrap and podman), kept in build/podman, their root file systems cached in ~/.cache/fleet-ghcr.
molecule: venv collection-path
	@$(call header,molecule: extensions/molecule scenarios default and logout on Debian containers)
	$(VENV_BIN)/python -m tools.molecule

# ---------------------------------------------------------------------------- demo

# Needs the same Debian packages as the integration tests (.ci/run installs them).
demo: system-deps venv collection-path
	@$(call header,demo: inventory/demo + playbooks/login.yml against a local registry)
	$(VENV_BIN)/python -m tools.demo

# ---------------------------------------------------------------------------- newer ansible-core

# The unit tests and the playbook-level integration tests on ansible-core 2.20 (Python 3.12) and 2.21 (Python 3.13),
# each in its own virtualenv under build/matrix; a version whose Python is missing is reported as NOT RUN.
matrix: venv collection-path
	@$(call header,matrix: ansible-core 2.20 and 2.21 on Python 3.12 and 3.13)
	$(VENV_BIN)/python tools/matrix.py

# ---------------------------------------------------------------------------- benchmark

# Not part of make test: it prints figures (ping, ghcr_login, podman_login and the registry_auth role, first run and
# re-run, with token requests) and judges nothing. make bench BENCH_ARGS='--sizes 10,50,200 --forks 2 --rounds 5'
BENCH_ARGS ?=
bench: venv collection-path
	@$(call header,bench: ghcr_login and podman_login and the role against ansible.builtin.ping)
	$(VENV_BIN)/python -m tools.bench $(BENCH_ARGS)

# The scale run of docs/bench.md: ping and the role at 100, 300 and 1,000 hosts, forks 2 and 5, one round each (about
# 25 minutes here). It rewrites docs/bench/scale.json and docs/bench/scale.png (matplotlib, installed into the venv).
SCALE_ARGS ?= --sizes 100,300,1000 --forks 2,5 --rounds 1 --arms ping,role,'role again'
scale: venv collection-path
	@$(call header,scale: the role against ping at 100 to 1000 hosts)
	$(VENV_BIN)/python -m tools.bench $(SCALE_ARGS) --json docs/bench/scale.json
	$(VENV_BIN)/python -c 'import matplotlib' 2>/dev/null || $(VENV_BIN)/python -m pip install --quiet --disable-pip-version-check matplotlib
	$(VENV_BIN)/python tools/plot_bench.py docs/bench/scale.json docs/bench/scale.png

# ---------------------------------------------------------------------------- everything

# Runs every step even after a failure, then prints a summary and fails if any step failed.
TEST_STEPS := lint units integration matrix sanity build molecule demo

test: system-deps venv
	@failed=""; summary=""; \
	for step in $(TEST_STEPS); do \
		printf '\n######## make %s ########\n' "$$step"; \
		start=$$(date +%s); \
		if $(MAKE) $$step; then result=ok; else result=FAILED; failed="$$failed $$step"; fi; \
		summary="$$summary$$(printf '  %-12s %-7s %5ss' "$$step" "$$result" "$$(( $$(date +%s) - start ))")\n"; \
	done; \
	printf '\n######## summary ########\n%b' "$$summary"; \
	if [ -n "$$failed" ]; then echo "make test FAILED:$$failed" >&2; exit 1; fi; \
	echo "make test: every step succeeded"

clean:
	rm -rf $(BUILD) tests/output .pytest_cache .ruff_cache .hypothesis
