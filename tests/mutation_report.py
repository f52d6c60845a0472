"""Share of mutants killed per module, after `mutmut run` (what `make mutate` prints).

Reads mutmut's per-module results (``mutants/<module>.py.meta``: exit code per mutant) for the
modules listed in ``[tool.mutmut] only_mutate`` of pyproject.toml. A mutant counts as killed when a
test failed (or timed out) with it; "no tests" means no selected test reached the mutated function.
Not collected by pytest (its name does not start with ``test_``).

    python tests/mutation_report.py               # the table
    python tests/mutation_report.py --survivors   # and the names of the surviving mutants
    python tests/mutation_report.py --markdown    # the table as README.md shows it
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
        if codes and all(code is None for code in codes.values()):
            continue  # not run this time (`make mutate MODULES=...` named other modules)
        found[module] = {key: status_by_exit_code[code] for key, code in codes.items()}
    return found


def packages(found: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """A package's mutants together (``autograder/feedback/``), for packages with several modules."""
    by_folder: dict[str, dict[str, str]] = {}
    for module, statuses in found.items():
        folder = module.rpartition("/")[0] + "/"
        if folder != "autograder/":
            by_folder.setdefault(folder, {}).update({f"{module}:{name}": s for name, s in statuses.items()})
    modules_in = Counter(module.rpartition("/")[0] + "/" for module in found)
    return {folder: statuses for folder, statuses in by_folder.items() if modules_in[folder] > 1}


def row(name: str, statuses: dict[str, str], markdown: bool) -> str:
    counts = Counter("caught" if status in CAUGHT else status for status in statuses.values())
    share = counts["caught"] / len(statuses) if statuses else 1.0
    other = len(statuses) - counts["caught"] - counts["survived"] - counts["no tests"]
    if markdown:
        return (
            f"| `{name}` | {len(statuses)} | {counts['caught']} | {share:.0%} | {counts['survived']} | "
            f"{counts['no tests']} |"
        )
    return (
        f"{name:<40} {len(statuses):>7} {counts['caught']:>7} {share:>6.0%}  "
        f"{counts['survived']} / {counts['no tests']} / {other}"
    )


def main(argv: list[str]) -> int:
    found = results()
    if not found:
        print("no mutmut results under mutants/: run `make mutate`", file=sys.stderr)
        return 1
    markdown = "--markdown" in argv
    if markdown:
        print("| module | mutants | killed | share | survived | no tests |\n|---|---|---|---|---|---|")
    else:
        print(f"{'module':<40} {'mutants':>7} {'killed':>7} {'share':>6}  survived / no tests / other")
    for module, statuses in found.items():
        print(row(module, statuses, markdown))
        if "--survivors" in argv:
            for name, status in statuses.items():
                if status not in CAUGHT:
                    print(f"    {status:<9} {name}")
    for folder, statuses in packages(found).items():
        print(row(f"{folder} (package)", statuses, markdown))
    everything = {f"{module}:{name}": s for module, statuses in found.items() for name, s in statuses.items()}
    print(row("all", everything, markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
