# The two commands an instructor needs: `make demo` and `make test`.
# Each creates .venv/ at the course root on first use; nothing else must be installed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench release lint mutate sandbox browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@$(MAKE) --no-print-directory sandbox
	@$(MAKE) --no-print-directory browser
	@touch $@

# bubblewrap contains student code. Installed on Debian/Ubuntu when we are root; elsewhere
# `python -m autograder doctor` says what is (not) contained and how to install it.
sandbox:
	@if command -v bwrap >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing bubblewrap (sandbox for student code)"; \
	  (apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1)) || \
	  echo "warning: could not install bubblewrap; grading falls back to rlimits (see doctor)"; \
	else echo "note: bubblewrap not found; install it (e.g. 'sudo apt-get install bubblewrap')"; fi

# The page tests open the feedback HTML and the formgrader in headless Chromium (Debian's package;
# Playwright drives it, its own browser download is not used). Installed when we are root.
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium (headless browser: the tests look at the feedback page, the formgrader and the class report)"; \
	  (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) || \
	  echo "warning: could not install chromium; the page tests will be skipped"; \
	else echo "note: chromium not found; the page tests will be skipped (e.g. 'sudo apt-get install chromium')"; fi

demo: $(STAMP)
	$(PY) -m autograder demo

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(PY) -m autograder bench

# Mutation testing of the core modules ([tool.mutmut] in pyproject.toml; about 30 minutes on 2 cores,
# not part of `make test`). mutmut's own output goes to mutants/mutmut.log; the table is the result.
# MODULES runs the mutants of some modules only (dotted names, a package takes its modules), e.g.
#   make mutate MODULES="autograder.judge autograder.verdicts autograder.feedback autograder.gradebook"
MODULES ?=
mutate: $(STAMP)
	@rm -rf mutants && mkdir mutants && echo "mutmut running (its output: mutants/mutmut.log)"
	@$(VENV)/bin/mutmut run --max-children 2 $(foreach m,$(MODULES),'$(m).*') > mutants/mutmut.log 2>&1 \
	  || { tail -n 30 mutants/mutmut.log; exit 1; }
	@$(PY) tests/mutation_report.py

# Regenerate assignments/ from source/ (commit the result).
release: $(STAMP)
	$(PY) -m autograder release

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) submitted autograded feedback gradebook.db grades.csv demo bench mutants
