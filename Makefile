# The README's two commands: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
EXTRAS := test
BENCH_EXTRAS := bench,demo
ifeq ($(PARITY),1)
EXTRAS := test,parity
BENCH_EXTRAS := bench,demo,parity
endif

.PHONY: demo test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip >/dev/null

demo: $(PY)
	$(PY) -m pip install -e ".[demo,viz]"
	$(PY) examples/demo.py

test: $(PY)
	$(PY) -m pip install -e ".[$(EXTRAS)]"
	$(PY) -m pytest

# BENCH_ARGS=--quick: a smoke run of the benchmarks that writes nothing
bench: $(PY)
	$(PY) -m pip install -e ".[$(BENCH_EXTRAS)]"
	$(PY) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) demo-out cnn-out build dist *.egg-info .mypy_cache
