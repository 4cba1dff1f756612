# Gatehouse — build, run and test. `make run` and `make test` are all a fresh clone needs.
CARGO ?= cargo
NEXTEST := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo yes)
# Where cargo puts what it builds: ./target, or $CARGO_TARGET_DIR / build.target-dir when set (a
# shared build cache). Asked of cargo itself, so the binaries are found wherever they are.
TARGET_DIR = $(shell $(CARGO) metadata --format-version 1 --no-deps | sed -E 's/.*"target_directory":"([^"]*)".*/\1/')
RELEASE = $(TARGET_DIR)/release

.PHONY: run build test browser-deps lint fmt fmt-check clippy bench bins demo conformance openapi fuzz

## run: release build, then serve on 127.0.0.1:8080 with the embedded sled store in ./var/gatehouse
run:
	$(CARGO) run --release --locked -p gatehouse-daemon --bin gatehouse -- serve $(ARGS)

build:
	$(CARGO) build --locked --workspace --bins

## test: format check, clippy with warnings denied, then the whole suite (unit, API, end-to-end).
## The console's browser test runs where /usr/bin/chromium is installed (apt-get install -y
## chromium) and says it skipped elsewhere; GATEHOUSE_BROWSER_TESTS=required makes that a failure.
## The store conformance suite runs on sled and PostgreSQL inside the workspace run; the engine
## and API suites then run again with the daemon on a throwaway PostgreSQL (the API's durability
## tests inject sled's own faults and stay on sled).
test: fmt-check clippy bins browser-deps
ifeq ($(NEXTEST),yes)
	$(CARGO) nextest run --locked --workspace --no-fail-fast
	GATEHOUSE_TEST_STORE=postgres $(CARGO) nextest run --locked -p gatehouse-engine -p gatehouse-api --no-fail-fast -E 'not (package(gatehouse-api) & test(/^durability::/))'
else
	$(CARGO) test --locked --workspace --no-fail-fast
	GATEHOUSE_TEST_STORE=postgres $(CARGO) test --locked -p gatehouse-engine --no-fail-fast
	GATEHOUSE_TEST_STORE=postgres $(CARGO) test --locked -p gatehouse-api --no-fail-fast -- --skip durability::
endif

## fuzz: the property tests of every parser that takes outside input, long (docs/SECURITY.md).
## `make test` runs the same tests with their short default case counts.
FUZZ_CASES ?= 100000
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked --release -p gatehouse-store journal::fuzz_tests
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked --release -p gatehouse-scim --test scim
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked --release -p gatehouse-connect --test link_fuzz
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked --release -p gatehouse-okta --test okta fuzz::
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked --release -p gatehouse-entra --lib fuzz_tests
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked --release -p gatehouse-google --lib fuzz_tests
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked --release -p gatehouse-jumpcloud --test jumpcloud fuzz::
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked --release -p gatehouse-jumpcloud --lib envelope
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked --release -p gatehouse-jumpcloud --lib signins::tests::any_insights_answer
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked --release -p gatehouse-scim-app --lib list_response
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked --release -p gatehouse-scim-app --test scim_app fuzz::
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked --release -p gatehouse-saml --test saml_fuzz

# The console browser test's npm packages (playwright-core), from the committed lock file; only
# where Chromium and npm are installed.
browser-deps:
	@if [ -x /usr/bin/chromium ] && command -v npm >/dev/null && [ ! -d tests/browser/node_modules/playwright-core ]; then \
		cd tests/browser && npm ci --no-audit --no-fund; fi

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

## bench: release build, then the benchmark harness on loopback; record results in docs/PERFORMANCE.md
bench:
	$(CARGO) build --release --locked -p gatehouse-daemon -p gatehouse-bench
	$(RELEASE)/gatehouse-bench ingest $(BENCH_ARGS)
	$(RELEASE)/gatehouse-bench response $(RESPONSE_ARGS)
	$(RELEASE)/gatehouse-bench scim $(SCIM_ARGS)
	$(RELEASE)/gatehouse-bench directory $(DIRECTORY_ARGS)
	$(RELEASE)/gatehouse-bench entra-directory $(ENTRA_DIRECTORY_ARGS)
	$(RELEASE)/gatehouse-bench google-directory $(GOOGLE_DIRECTORY_ARGS)
	$(RELEASE)/gatehouse-bench jumpcloud-directory $(JUMPCLOUD_DIRECTORY_ARGS)
	$(RELEASE)/gatehouse-bench stores $(STORES_ARGS)
	$(RELEASE)/gatehouse-bench sustained $(SUSTAINED_ARGS)

## conformance: scim2-cli and scim-sanity (PyPI, in a venv) against a fresh daemon
conformance:
	$(CARGO) build --release --locked -p gatehouse-daemon
	GATEHOUSE_RELEASE_DIR="$(RELEASE)" ./deploy/conformance.sh

## demo: the Okta simulator and the daemon, a demo tenant onboarded, and what to curl
demo:
	$(CARGO) build --release --locked -p gatehouse-daemon -p gatehouse-idp-sim
	GATEHOUSE_RELEASE_DIR="$(RELEASE)" ./deploy/demo.sh

## openapi: regenerate docs/openapi.json from the routes (a test fails when it is stale)
openapi:
	$(CARGO) run --quiet --locked -p gatehouse-daemon --bin gatehouse -- openapi > docs/openapi.json
