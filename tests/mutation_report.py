"""Share of mutants killed per module, after `mutmut run` (what `make mutate` prints).

Reads mutmut's per-module results (``mutants/<module>.py.meta``: exit code per mutant) for the
modules listed in ``[tool.mutmut] only_mutate`` of pyproject.toml. A mutant counts as killed when a
test failed (or timed out) with it; "no tests" means no selected test reached the mutated function.
Not collected by pytest (its name does not start with ``test_``).

    python tests/mutation_report.py               # the table
    python tests/mutation_report.py --survivors   # and the names of the surviving mutants
"""

from __future__ import annotations

import fnmatch
import json
import sys
import tomllib
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parent.parent
CAUGHT = {"killed", "timeout", "caught by type check", "segfault"}


def patterns() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return config["only_mutate"]


def results(mutants: Path = ROOT / "mutants") -> dict[str, dict[str, str]]:
    """module path -> mutant name -> status, for every mutated module."""
    found = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        module = meta.relative_to(mutants).as_posix().removesuffix(".meta")
        if not any(fnmatch.fnmatch(module, pattern) for pattern in patterns()):
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        found[module] = {key: status_by_exit_code[code] for key, code in codes.items()}
    return found


def main(argv: list[str]) -> int:
    found = results()
    if not found:
        print("no mutmut results under mutants/: run `make mutate`", file=sys.stderr)
        return 1
    print(f"{'module':<32} {'mutants':>7} {'killed':>7} {'share':>6}  survived / no tests / other")
    total = Counter()
    for module, statuses in found.items():
        counts = Counter("caught" if status in CAUGHT else status for status in statuses.values())
        total.update(counts)
        share = counts["caught"] / len(statuses) if statuses else 1.0
        other = len(statuses) - counts["caught"] - counts["survived"] - counts["no tests"]
        print(f"{module:<32} {len(statuses):>7} {counts['caught']:>7} {share:>6.0%}  "
              f"{counts['survived']} / {counts['no tests']} / {other}")
        if "--survivors" in argv:
            for name, status in statuses.items():
                if status not in CAUGHT:
                    print(f"    {status:<9} {name}")
    mutants = sum(total.values())
    print(f"{'all':<32} {mutants:>7} {total['caught']:>7} {total['caught'] / mutants:>6.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
