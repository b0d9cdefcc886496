# ClipKit: `make demo`, `make test`, `make bench`. Each installs missing system
# packages first (tools/install-deps.sh; root or sudo).
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin
SWIFT ?= swift

.PHONY: deps build release test test-torch demo bench fixtures clean format lint

deps:
	@tools/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps lint
	$(SWIFT) build --build-tests
	CLIPKIT_CACHE=$$(mktemp -d) $(SWIFT) test --skip-build   # a fresh index cache: every decoding scan is made
	CLIPKIT_CACHE=$$(mktemp -d) tools/python-tests.sh

# Formatting: swift-format (in the toolchain) with .swift-format (4 spaces, 120 columns).
format:
	$(SWIFT) format format --in-place --recursive Sources Tests Package.swift

# What `make format` would change, line and function lengths (tools/lint.py, tools/lint-baseline.txt), and links in the docs.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift
	tools/lint.py
	tools/check-links.py

# The torch adapter and python/examples/train_torch.py, with torch (a large download, in the benchmark venv).
test-torch: deps
	$(SWIFT) build
	tools/python-tests.sh --torch

demo: release
	@tools/demo.sh

# Peer benchmarks need real footage (python3-imageio's clips) and their own venv.
bench: release
	@tools/install-deps.sh python3-imageio
	@tools/bench/run.sh

# Regenerates Fixtures/ (committed; only needed when the fixture set changes).
fixtures: deps
	rm -rf Fixtures && tools/make-fixtures.sh Fixtures

clean:
	rm -rf .build demo-out bench-data
