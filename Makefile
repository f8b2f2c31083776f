# pulumi-alicloud-rs — every target installs what it needs; heavy artefacts live in $(CACHE_DIR).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PULUMI_VERSION := v3.184.0
CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/pulumi-alicloud-rs
TOOLS_BIN := $(CACHE_DIR)/tools/$(PULUMI_VERSION)/bin
PULUMI := $(TOOLS_BIN)/pulumi
LANGUAGES := nodejs python go dotnet
# End-to-end test files run in this many pytest-xdist workers, each with its own emulator and runtimes; most of
# a test's time is spent waiting on the engine and the emulator, so two workers fit two cores.
E2E_WORKERS ?= 2
# The release plugin is built for this named triple, as `make dist` builds it, so that its symbol names are
# those provider/symbol-order.txt lists (tests/bench/symbol_order.py).
HOST_TRIPLE = $(shell rustc -vV | sed -n 's/^host: //p')

# Go modules are pinned by the committed go.sum files; the checksum database has no entries for the
# Pulumi modules, so it is not asked about them.
export GONOSUMDB := github.com/pulumi
export GOTOOLCHAIN := local
export PULUMI_SKIP_UPDATE_CHECK := true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION := true
export CACHE_DIR PULUMI_VERSION TOOLS_BIN

.PHONY: help
help:
	@echo "make demo     pulumi up, refresh and destroy against the local Alibaba Cloud emulator"
	@echo "make test     every check and test (what CI runs)"
	@echo "make tools    build the pinned Pulumi CLI and language hosts ($(PULUMI_VERSION))"
	@echo "make build    build the provider and the emulator"
	@echo "make gen-sdk  regenerate sdk/ from schema.json"
	@echo "make lint     cargo fmt --check and clippy -D warnings"
	@echo "make bench    measure, print the benchmark table and write it into README.md"
	@echo "make symbol-order  record the order the release plugin's code is laid out in (provider/symbol-order.txt)"
	@echo "make readme-tables  copy the last complete fault matrix (target/e2e) into README.md"
	@echo "make dist     build the release artefacts into dist/ (plugin archive, npm, wheel/sdist, Go module zip, SHA256SUMS)"
	@echo "make check-version  every version in the sources (and dist/) equals Cargo.toml's workspace version"

.PHONY: tools
tools:
	@tools/build.sh

.PHONY: build
build:
	cargo build --workspace --bins

.PHONY: gen-sdk
gen-sdk: tools
	tools/gen-sdk.sh "$(PULUMI)" $(LANGUAGES)

.PHONY: lint
lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# The OpenAPI client is a crate of its own: its docs build without warnings and it packages for crates.io.
.PHONY: check-crate
check-crate:
	RUSTDOCFLAGS="-D warnings" cargo doc -p alicloud-openapi --no-deps
	cargo package -p alicloud-openapi --allow-dirty

.PHONY: check-sdk-drift
check-sdk-drift: gen-sdk
	@if [ -n "$$(git status --porcelain -- sdk)" ]; then \
		git status --porcelain -- sdk; git --no-pager diff --stat -- sdk; \
		echo "error: sdk/ differs from what 'make gen-sdk' produces; run it and commit the result" >&2; exit 1; \
	fi
	@echo "sdk/ matches schema.json"

.PHONY: check-sdk
check-sdk: tools
	tests/sdk/check.sh

.PHONY: test-rust
test-rust:
	cargo build --workspace --bins
	cargo test --workspace

.PHONY: test-vectors
test-vectors:
	alicloud-openapi/tests/vectors/crosscheck.sh

.PHONY: test-emulator-sdk
test-emulator-sdk:
	cargo build -p alicloud-emulator
	emulator/tests/sdk/run.sh

.PHONY: test-cli
test-cli: tools
	cargo build -p pulumi-resource-alicloud
	venv="$$(tools/venv.sh cli tests/cli/requirements.txt)"; "$$venv/bin/python" -m pytest -q tests/cli

.PHONY: check-version
check-version:
	scripts/check-version.sh

.PHONY: dist
dist:
	scripts/dist.sh

# Installs what `make dist` made the way users will: the plugin archive with `pulumi plugin install
# --server`, and by the engine's own download for programs using the npm package and the wheel.
.PHONY: test-install
test-install: tools dist
	cargo build -p alicloud-emulator
	venv="$$(tools/venv.sh install tests/install/requirements.txt)"; "$$venv/bin/python" -m pytest -q -p no:cacheprovider tests/install

.PHONY: test-e2e
test-e2e: tools
	tests/e2e/run.sh -q -n $(E2E_WORKERS) --dist loadfile --durations=20

# Copies the fault matrix of the last complete end-to-end run (kept under target/) into the tracked
# tests/e2e/fault-matrix.md and README.md; tests never write tracked files.
.PHONY: readme-tables
readme-tables:
	python3 tests/e2e/matrix.py

.PHONY: demo
demo: tools
	scripts/demo.sh

# The end-to-end suite runs last: its pytest summary closes the output.
.PHONY: test
test: tools lint check-crate check-sdk-drift check-sdk test-rust test-vectors test-emulator-sdk test-cli test-install check-version test-e2e

# One table from one run (tests/bench/bench.py, the emulator loopback benchmark included), written into
# README.md even when a target is missed; then the exit status says whether every target was met. The plugin is
# built on its own, as `make dist` builds it: built beside the emulator, it would get the emulator's tokio
# features (Cargo unifies them), a multi-thread runtime among them.
.PHONY: bench
bench: tools release-builds
	status=0; tests/bench/bench.py || status=$$?; tests/bench/readme_table.py; exit $$status

.PHONY: release-builds
release-builds:
	cargo build --locked --release -p pulumi-resource-alicloud --target $(HOST_TRIPLE)
	cargo build --locked --release -p alicloud-emulator

# Callgrind comes from Debian's valgrind package.
.PHONY: symbol-order
symbol-order: release-builds
	command -v valgrind >/dev/null || $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -q valgrind
	tests/bench/symbol_order.py
	cargo build --locked --release -p pulumi-resource-alicloud --target $(HOST_TRIPLE)
