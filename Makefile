# Two commands do all set-up on a fresh machine (see README):
#   make run   - install everything into .venv/ and run the Evia wildfire on the embedded model
#   make test  - install everything (plus redis-server and postgresql) and run the whole test suite
.PHONY: setup run test test-fast lint

setup:
	bash scripts/setup.sh

run: setup
	.venv/bin/crisis-mas run scenarios/evia_wildfire.json

test: setup
	bash scripts/ensure_redis.sh
	bash scripts/ensure_chromium.sh
	bash scripts/ensure_postgres.sh
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/python scripts/build_training_sets.py --check
	.venv/bin/python -m pytest -q -ra --durations=15

# Local inner loop: unit + integration (no engine, no Ray Serve); CI runs tests/e2e too.
test-fast: setup
	bash scripts/ensure_redis.sh
	bash scripts/ensure_chromium.sh
	bash scripts/ensure_postgres.sh
	.venv/bin/python -m pytest -q tests/unit tests/integration

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check crisis_mas && .venv/bin/lint-imports
