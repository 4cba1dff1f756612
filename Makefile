# Gatehouse — build, run and test. `make run` and `make test` are all a fresh clone needs.
CARGO ?= cargo
NEXTEST := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo yes)

.PHONY: run build test lint fmt fmt-check clippy bench bins

## run: release build, then serve on 127.0.0.1:8080 with the embedded sled store in ./var/gatehouse
run:
	$(CARGO) build --release --locked -p gatehouse-daemon
	./target/release/gatehouse serve $(ARGS)

build:
	$(CARGO) build --locked --workspace --bins

## test: format check, clippy with warnings denied, then the whole suite (unit, API, end-to-end)
test: fmt-check clippy bins
ifeq ($(NEXTEST),yes)
	$(CARGO) nextest run --locked --workspace --no-fail-fast
else
	$(CARGO) test --locked --workspace --no-fail-fast
endif

# The end-to-end tests start the real binaries; build them first.
bins:
	$(CARGO) build --locked --workspace --bins

lint: fmt-check clippy

clippy:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all -- --check

## bench: performance harness (filled by the ingest, risk and SCIM issues); results go to docs/PERFORMANCE.md
bench:
	@echo "no benchmarks yet: the push-ingest benchmark lands with the Okta connector (see docs/PERFORMANCE.md)"
