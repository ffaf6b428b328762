# dejiru — the two commands a newcomer needs: `make run` and `make test`.
.PHONY: setup run test bench lint typecheck format clean

VENV := .venv
STAMP := $(VENV)/.setup-done

setup: $(STAMP)

$(STAMP): pyproject.toml uv.lock scripts/setup.sh
	scripts/setup.sh
	touch $(STAMP)

run: setup  ## set everything up, then run the demo pipeline (Ctrl-C to stop)
	$(VENV)/bin/dejiru run --seed 3

test: setup  ## set everything up, then run every test (real OCR, real browser, real PostgreSQL)
	$(VENV)/bin/python -m pytest -n 3 --dist worksteal

bench: setup  ## accuracy and speed figures (not a test); adds tesseract-jpn for its baseline
	DEJIRU_SETUP_BENCH=1 scripts/setup.sh
	$(VENV)/bin/python -m bench
	$(VENV)/bin/python -m bench.keying
	$(VENV)/bin/python -m bench.bombs
	$(VENV)/bin/python -m bench.authoring
	$(VENV)/bin/python -m bench.counter
	$(VENV)/bin/python -m bench.counter_scan
	$(VENV)/bin/python -m bench.print_check

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf var inbox .pytest_cache .mypy_cache .ruff_cache
