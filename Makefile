# The two commands a newcomer needs: `make demo` (the main job on the embedded emulator) and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
ASL_TOOLS := devtools/asl
TERRAFORM ?= terraform
# emulator: the embedded AWS emulator; external: AWS_ENDPOINT_URL (LocalStack) or, unset, real AWS.
DEMO_TARGET ?= emulator
export TF_CLI_CONFIG_FILE := $(CURDIR)/.terraform-cli.rc
export TF_IN_AUTOMATION := 1
export CHECKPOINT_DISABLE := 1

.PHONY: docs help venv tf-setup lint fmt test test-unit test-emulator test-terraform test-asl test-integration test-localstack test-localstack-ci demo demo-localstack bench clean

help:
	@echo "make demo   - run a live migration on the embedded AWS emulator"
	@echo "make test   - lint and run every test (unit, emulator, terraform, asl, integration, a LocalStack subset)"
	@echo "make bench  - run the benchmark suite"
	@echo "make test-localstack - the plugins' tests and the whole integration suite on LocalStack 4.14.0"
	@echo "make demo-localstack - make demo DEMO_TARGET=external on LocalStack 4.14.0"

$(VENV)/.installed: pyproject.toml requirements/dev.lock
	@command -v $(TERRAFORM) >/dev/null || { echo "terraform >= 1.9 is required on PATH: https://developer.hashicorp.com/terraform/install" >&2; exit 1; }
	devtools/ensure_venv.sh $(PYTHON) $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.2
	$(BIN)/python -m pip install --quiet --requirement requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable .
	touch $@

# asl-validator (npm, exact versions in devtools/asl/package-lock.json): the emulator refuses to start without it.
$(ASL_TOOLS)/node_modules/.installed: $(ASL_TOOLS)/package.json $(ASL_TOOLS)/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js >= 18 with npm is required on PATH (the emulator checks Step Functions definitions with asl-validator): https://nodejs.org/" >&2; exit 1; }
	cd $(ASL_TOOLS) && npm ci --no-audit --no-fund --ignore-scripts --prefer-offline
	touch $@

venv: $(VENV)/.installed $(ASL_TOOLS)/node_modules/.installed

tf-setup: venv
	$(BIN)/python -m devtools.terraform_setup >/dev/null

# The checks live in .pre-commit-config.yaml, once for `make lint` and the git hook: ruff, mypy --strict, JSON,
# terraform fmt and validate (root, modules, examples), the module READMEs, checkov.
lint: venv tf-setup
	PATH="$(BIN):$$PATH" PYTHON=$(PYTHON) TERRAFORM=$(TERRAFORM) $(BIN)/pre-commit run --all-files --show-diff-on-failure --color never

docs: venv
	$(BIN)/python -m devtools.tfdocs --write

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(TERRAFORM) fmt -recursive

test-unit: venv
	$(BIN)/pytest tests/unit -q -n 2

# Tests that start servers or child processes: the embedded emulator, the DynamoDB fault model, the bench, the
# local tooling. Tests that only call code, with moto in-process at most, are in tests/unit.
test-emulator: venv
	$(BIN)/pytest tests/emulator -q -n 2

test-terraform: tf-setup
	TERRAFORM=$(TERRAFORM) $(BIN)/python -m devtools.terraform_setup --init . -- -test-directory=tests/terraform >/dev/null
	TERRAFORM=$(TERRAFORM) $(BIN)/python -m devtools.terraform_tests

# Every state machine definition that the plans of tests/terraform render (the module with and without pre-warm,
# every example) must pass asl-validator, as on Step Functions.
test-asl: tf-setup
	$(BIN)/pytest tests/asl -q -n 0

test-integration: tf-setup
	$(BIN)/pytest tests/integration -q -n 3 --durations=10

# LocalStack 4.14.0 on loopback with the project's plugins (devtools/localstack/README.md): the plugins' own tests
# (tests/localstack), then the integration suite with DDB_MIGRATE_TEST_TARGET=external, less the tests marked
# emulator_only or not_on_localstack. run.sh stops LocalStack and its Lambda processes whatever the outcome.
# Not part of `make test`: it takes longer than CI's remaining budget (README, "LocalStack").
LOCALSTACK_PORT ?= 4566
test-localstack: tf-setup
	devtools/localstack/setup.sh
	DDB_MIGRATE_TEST_TARGET=external devtools/localstack/run.sh --port $(LOCALSTACK_PORT) -- \
		$(BIN)/pytest tests/localstack tests/integration -q -n 3 --durations=0

# The part of test-localstack that `make test` (and so CI) runs: the plugins' tests, the live-migration convergence
# test and examples/localstack, about 5 minutes. The rest of the integration suite on LocalStack takes about 12
# more, past CI's budget: run `make test-localstack` for it.
LOCALSTACK_CI_TESTS := tests/localstack \
	tests/integration/test_live_migration.py::test_backfill_racing_live_writes_converges_to_transform_of_source \
	"tests/integration/test_examples.py::test_example_applies_and_its_deployment_works[localstack]"
test-localstack-ci: tf-setup
	devtools/localstack/setup.sh
	DDB_MIGRATE_TEST_TARGET=external devtools/localstack/run.sh --port $(LOCALSTACK_PORT) -- \
		$(BIN)/pytest $(LOCALSTACK_CI_TESTS) -q -n 2 --durations=10

test: lint test-unit test-emulator test-terraform test-asl test-integration test-localstack-ci

demo: tf-setup
	$(BIN)/python -m devtools demo --endpoint $(DEMO_TARGET)

demo-localstack: tf-setup
	devtools/localstack/setup.sh
	devtools/localstack/run.sh --port $(LOCALSTACK_PORT) -- $(BIN)/python -m devtools demo --endpoint external

bench: tf-setup
	$(BIN)/python -m devtools.bench

clean:
	rm -rf $(VENV) .terraform .terraform-plugin-cache .terraform-cli.rc .build modules/*/.build $(ASL_TOOLS)/node_modules
