# spark-init. On a fresh machine: `make demo` (the main job, on local stand-ins) and `make test`.
# Every target installs what it needs first (see entrypoint-tests/scripts/ensure-deps.sh).

# `make build ARCH=aarch64`: the same static binary for arm64 (linked by Debian's
# gcc-aarch64-linux-gnu, see .cargo/config.toml); `make test` builds both and runs the arm64 one
# under qemu-user (entrypoint-tests/tests/aarch64.rs).
ARCH ?= x86_64
MUSL_TARGET := $(ARCH)-unknown-linux-musl
BIN := target/$(MUSL_TARGET)/release/spark-init
# Two cores here; more jobs make rustc fail to spawn helper threads.
CARGO_JOBS ?= -j 2
SIZE_BUDGET := 3145728
SCRIPTS := entrypoint-tests/scripts

.PHONY: build test lint bench demo demo-containers pyspark image image-smoke deps clean

build:
	MUSL_TARGET=$(MUSL_TARGET) $(SCRIPTS)/ensure-deps.sh build
	cargo build $(CARGO_JOBS) --release --locked --target $(MUSL_TARGET) -p spark-init
	@# Refuse a dynamic binary: no program interpreter, no shared libraries.
	@if readelf -l $(BIN) | grep -q INTERP || readelf -d $(BIN) | grep -q NEEDED; then \
		echo "make build: $(BIN) is not static" >&2; exit 1; fi
	@# The size budget (issue 15, BENCH.md): an image's init should not outweigh tini by much.
	@size=$$(stat -c %s $(BIN)); if [ $$size -gt $(SIZE_BUDGET) ]; then \
		echo "make build: $(BIN) is $$size bytes, over the budget of $(SIZE_BUDGET) (3 MiB); see BENCH.md" >&2; exit 1; fi
	@echo "built $(BIN) ($$(stat -c %s $(BIN)) bytes, static, budget $(SIZE_BUDGET))"

lint:
	cargo fmt --all -- --check
	cargo clippy $(CARGO_JOBS) --locked --workspace --all-targets -- -D warnings

pyspark:
	$(SCRIPTS)/ensure-pyspark.sh
	$(SCRIPTS)/ensure-python-marathon.sh

test: build pyspark
	$(SCRIPTS)/ensure-deps.sh test
	$(MAKE) build ARCH=aarch64
	@# The container tests (entrypoint-tests/tests/containers.rs) run the images with this
	@# binary: `make image` (the bases cached by input hash; seconds when nothing changed).
	@if docker version >/dev/null 2>&1; then $(MAKE) image; else \
		echo "make test: no Docker engine answers: the container tests will say they are skipped"; fi
	$(MAKE) lint
	cargo test $(CARGO_JOBS) --locked --workspace

bench: build
	$(SCRIPTS)/ensure-deps.sh bench
	cargo build $(CARGO_JOBS) --release --locked -p entrypoint-tests --bins
	target/release/bench BENCH.md

demo: build pyspark
	$(SCRIPTS)/ensure-deps.sh test
	$(SCRIPTS)/demo.sh
	cargo build $(CARGO_JOBS) --locked -p entrypoint-tests --bin demo --bin probe
	target/debug/demo

# The container story (tests/containers.rs) told for a newcomer: every task a Docker container.
demo-containers: build pyspark
	$(SCRIPTS)/ensure-deps.sh test
	$(MAKE) image IMAGE_SPARK_VERSIONS="$${SPARK_VERSION:-3.5.7}"
	cargo build $(CARGO_JOBS) --locked -p entrypoint-tests --bin demo --bin probe
	target/debug/demo --containers

# The images with no registry (README "Images"): spark-init-spark:<v> (Debian 12 by debootstrap,
# Java 17, Spark from the PyPI jars; rebuilt only when its inputs change), then spark-init:<v>
# from images/Dockerfile's `local` stage with the binary above. `make test` runs it when a
# Docker engine answers.
IMAGE_SPARK_VERSIONS ?= 3.5.7 4.3.0
image: build pyspark
	images/base/build.sh $(IMAGE_SPARK_VERSIONS)
	images/local.sh $(IMAGE_SPARK_VERSIONS)

# Checks of those images by hand (about 10 s); skips with a message when Docker or an image is missing.
image-smoke:
	$(SCRIPTS)/image-smoke.sh $(IMAGE_SPARK_VERSIONS)

clean:
	cargo clean
