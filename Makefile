# ClipKit: `make demo`, `make test`, `make bench`. Each installs missing system
# packages first (tools/install-deps.sh; root or sudo).
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin
SWIFT ?= swift

.PHONY: deps build release test test-torch test-wheel wheel demo bench bench-speed bench-policies fixtures clean format lint results-check

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

# dist/clipkit-<version>-py3-none-manylinux_2_36_x86_64.whl: the Python package with its own decode-only LGPL
# FFmpeg (built once from Debian's source package, cached under .build/wheel/); no Swift or FFmpeg packages needed.
wheel: deps
	tools/install-deps.sh --sources dpkg-dev libdav1d-dev libgnutls28-dev nasm patchelf
	tools/wheel/make-wheel.py $$(tools/wheel/build-ffmpeg.sh)

# The wheel in a fresh venv, its tests run where /opt/swift and the system's FFmpeg are hidden (unshare -m; root).
test-wheel: deps
	tools/wheel/test-wheel.sh

# The torch adapter and python/examples/train_torch.py, with torch (a large download, in the benchmark venv).
test-torch: deps
	$(SWIFT) build
	tools/python-tests.sh --torch

demo: release
	@tools/demo.sh

# docs/RESULTS.md's deterministic tables (parameters, FLOPs, peak tensor memory), reprinted and compared.
results-check: deps
	$(SWIFT) build -c release --product clipkit
	CLIPKIT=$$($(SWIFT) build -c release --show-bin-path)/clipkit python3 tools/results/check.py

# Peer benchmarks need real footage (python3-imageio's clips) and their own venv.
bench: release
	@tools/install-deps.sh python3-imageio
	@tools/bench/run.sh

# Issue 28's speed and memory targets against PyTorch (about 45 minutes on 2 cores): R50 steps at 112 and 224,
# kth3l, 30-view inference; one table with the CPU and BLAS core (bench-data/speed/). BEFORE=build adds paired rounds.
bench-speed: release
	"$$(tools/bench/setup-venv.sh)" tools/bench/speed_targets.py --clipkit "$$($(SWIFT) build -c release --show-bin-path)/clipkit" \
	    --out bench-data/speed $(if $(BEFORE),--before $(BEFORE)) $(if $(ROUNDS),--rounds $(ROUNDS))

# Every algorithm choice against its alternatives on this CPU (tools/bench/bench_policies.py; ClipKit alone, standard
# Python, about 2 hours on 2 cores): the R50s' layers at both step shapes and kth3l's; tables in bench-data/policies/.
POLICY_SETS := r3d50:3x8x112x112:4 r3d50:3x4x224x224:2 r2plus1d-r50:3x8x112x112:4 r2plus1d-r50:3x4x224x224:2 \
	kth3l:3x16x60x80:16
bench-policies: release
	@mkdir -p bench-data/policies
	@set -o pipefail; failed=0; bin="$$($(SWIFT) build -c release --show-bin-path)/clipkit"; \
	for set in $(POLICY_SETS); do IFS=: read -r layers input batch <<< "$$set"; \
	    echo "== $$layers, $$batch × $$input"; \
	    python3 tools/bench/bench_policies.py --clipkit "$$bin" --layers $$layers --input $$input --batch $$batch \
	        $(if $(ROUNDS),--rounds $(ROUNDS)) --json-out bench-data/policies/$$layers-$$input.json \
	        | tee bench-data/policies/$$layers-$$input.md || failed=1; \
	done; exit $$failed

# Regenerates Fixtures/ (committed; only needed when the fixture set changes).
fixtures: deps
	rm -rf Fixtures && tools/make-fixtures.sh Fixtures

clean:
	rm -rf .build demo-out bench-data
