"""What a submission may do (../shared/CONTRACT.md), decided on its code before anything runs.

The grader reads the cells' syntax trees, outside the sandbox. Two rules:

- **no escape hatches**: nothing that reaches into the interpreter or the grader (frames, the module
  table, ``gc``, ``inspect``, ``ctypes``, other processes or threads, signals, dynamic code,
  computed attribute names, private or dunder attributes of modules, replacing a module's
  attributes). A violation inside a function costs the graded functions that reach it; one in
  top-level code (or in a function top-level code calls) costs every graded function.
- **from scratch**: a from-scratch graded function, and every helper it reaches, may not use a
  ready-made convolution (``scipy.signal``, ``scipy.ndimage``, ``numpy.convolve``/``correlate``,
  torch, tensorflow...), however imported or aliased. A scratch cell may import and use them.

Calls along a declared edge (``convolve2d`` -> ``conv2d``) are answered by the reference while the
caller is judged, so they are not followed. Each finding is a :class:`~autograder.verdicts.Violation`
naming the cell, the line and its code (autograder.feedback says it in words).
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from autograder.sandbox.ready_made import CONVOLUTION_PACKAGES, is_convolution
from autograder.verdicts import Violation

TOP = "<top-level>"

ESCAPE_MODULES = frozenset({
    "gc", "inspect", "ctypes", "cffi", "subprocess", "multiprocessing", "threading", "_thread", "signal",
    "importlib", "__main__", "concurrent", "asyncio", "pty", "_posixsubprocess", "code", "codeop", "runpy",
    "marshal", "pickle", "atexit", "autograder",
})
ESCAPE_PATHS = frozenset({
    "sys.modules", "sys.settrace", "sys.setprofile", "sys.gettrace", "sys.getprofile", "sys.meta_path",
    "sys.path_hooks", "sys.path_importer_cache", "sys.addaudithook", "sys.monitoring", "sys.remote_exec",
    "os.fork", "os.forkpty", "os.system", "os.popen", "os.kill", "os.killpg", "os.register_at_fork",
    "os.posix_spawn", "os.posix_spawnp", "os.spawnv", "os.spawnve", "os.spawnl", "os.spawnle", "os.spawnlp",
    "os.spawnvp", "os.execv", "os.execve", "os.execl", "os.execle", "os.execlp", "os.execvp", "os.execvpe",
    "os.abort", "numpy.ctypeslib",
    # raw descriptors: the only channel out of a function's process is the grader's own pipe
    "os.read", "os.write", "os.readv", "os.writev", "os.pread", "os.pwrite", "os.sendfile", "os.splice",
    "os.fdopen", "os.dup", "os.dup2", "os.pipe", "os.pipe2", "os.openpty", "os.set_blocking",
    "os.set_inheritable", "os.close", "os.closerange", "io.FileIO", "io.open", "mmap",
})
ESCAPE_CALLS = frozenset({"exec", "eval", "compile", "__import__", "vars", "breakpoint"})
ESCAPE_NAMES = frozenset({"__builtins__", "__import__", "__loader__", "__spec__"})
#: Attributes that lead to frames, code or raw memory, on whatever object.
FRAME_ATTRIBUTES = frozenset({
    "tb_frame", "tb_next", "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "gi_frame", "gi_code",
    "cr_frame", "cr_code", "ag_frame", "ag_code", "co_code", "ctypes",
})
ALLOWED_DUNDERS = frozenset({"__name__", "__doc__", "__init__", "__class__", "__len__", "__version__",
                             "__qualname__"})
NAME_ARGUMENT = {"getattr": 1, "setattr": 1, "delattr": 1, "hasattr": 1}

@dataclass
class Unit:
    """A top-level function or class (or all top-level statements): what it does and reaches."""

    escapes: list[Violation] = field(default_factory=list)
    convolutions: list[Violation] = field(default_factory=list)
    references: set[str] = field(default_factory=set)


class _Reader(ast.NodeVisitor):
    """Collects, per unit, escape hatches, convolution uses and the names it references."""

    def __init__(self, modules: dict[str, str], tainted: dict[str, str], cell: int, lines: list[str]):
        self.modules, self.tainted, self.cell, self.lines = modules, tainted, cell, lines
        self.unit: Unit | None = None

    def found(self, node, rule: str, how: str, what: str, real: str = "") -> Violation:
        line = getattr(node, "lineno", 1)
        code = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        return Violation(rule, how, what, self.cell, line, code[:80], real)

    def escape(self, node, how: str, what: str = "") -> None:
        """An escape hatch: `how` is the construct, `what` its name as written."""
        self.unit.escapes.append(self.found(node, "escape", how, what))

    def convolution(self, node, what: str, real: str = "") -> None:
        self.unit.convolutions.append(self.found(node, "ready-made", "alias" if real else "uses", what, real))

    def path(self, node) -> str | None:
        """The dotted module path an expression stands for (np.fft.fft -> numpy.fft.fft), if any."""
        if isinstance(node, ast.Name):
            return self.modules.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.path(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def check_path(self, node, path: str) -> None:
        root = path.split(".")[0]
        rest = path.split(".")[1:]
        if root in ESCAPE_MODULES:
            self.escape(node, "module", root)
        elif any(path == p or path.startswith(p + ".") for p in ESCAPE_PATHS):
            self.escape(node, "path", path)
        elif any(part.startswith("_") for part in rest):
            self.escape(node, "private", path)
        elif is_convolution(path):
            self.convolution(node, path)

    def visit_Import(self, node):
        for alias in node.names:
            parts = alias.name.split(".")
            if parts[0] in ESCAPE_MODULES or any(part.startswith("_") for part in parts[1:]):
                self.check_path(node, alias.name)
            elif is_convolution(alias.name) or parts[0] in CONVOLUTION_PACKAGES:
                self.convolution(node, alias.name)

    def visit_ImportFrom(self, node):
        module = ("." * node.level) + (node.module or "")
        if node.level or module.split(".")[0] in ESCAPE_MODULES:
            self.escape(node, "import-from", module)
            return
        for alias in node.names:
            self.check_path(node, f"{module}.{alias.name}")

    def visit_Name(self, node):
        if node.id in ESCAPE_NAMES:
            self.escape(node, "name", node.id)
        elif isinstance(node.ctx, ast.Load):
            self.unit.references.add(node.id)
            if node.id in self.tainted:
                self.convolution(node, node.id, self.tainted[node.id])

    def visit_Attribute(self, node):
        attr = node.attr
        if attr in FRAME_ATTRIBUTES:
            self.escape(node, "attribute", attr)
        elif attr.startswith("__") and attr.endswith("__") and attr not in ALLOWED_DUNDERS:
            self.escape(node, "attribute", attr)
        path = self.path(node)
        if path is not None:
            self.check_path(node, path)
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                self.escape(node, "replacing", path)
            return  # the chain's inner links are part of this path
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name) and func.id in ESCAPE_CALLS:
            self.escape(node, "call", func.id)
        if isinstance(func, ast.Name) and func.id == "open" and node.args and _maybe_descriptor(node.args[0]):
            self.escape(node, "descriptor", "open")
        if isinstance(func, ast.Name) and func.id in NAME_ARGUMENT:
            index = NAME_ARGUMENT[func.id]
            name = node.args[index] if len(node.args) > index else None
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                self.escape(node, "computed-name", func.id)
            else:
                probe = ast.Attribute(value=node.args[0], attr=name.value,
                                      ctx=ast.Store() if func.id in ("setattr", "delattr") else ast.Load())
                ast.copy_location(probe, node)
                self.visit_Attribute(probe)
        self.generic_visit(node)


def _maybe_descriptor(node) -> bool:
    """open(3), open(n - 1), open(len(x)): an argument that is visibly a number, not a path."""
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, (str, bytes))
    if isinstance(node, ast.UnaryOp):
        return True
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id in {"int", "len", "abs", "sum", "max", "min",
                                                                     "round", "ord", "hash", "id"}
    if isinstance(node, ast.BinOp):
        textual = (ast.JoinedStr, ast.Call, ast.Attribute, ast.Subscript)
        return not any(isinstance(side, textual) or (isinstance(side, ast.Constant) and isinstance(side.value, str))
                       for side in (node.left, node.right))
    return False


def _imports(trees: Iterable[ast.AST]) -> dict[str, str]:
    """Every name bound to a module or a module's attribute by an import, anywhere in the code."""
    modules: dict[str, str] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        modules[alias.asname] = alias.name
                    else:
                        root = alias.name.split(".")[0]
                        modules[root] = root
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                for alias in node.names:
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return modules


def _aliases(trees: list[ast.Module], modules: dict[str, str]) -> dict[str, str]:
    """Top-level names bound (directly or through other names) to a ready-made convolution:
    `smooth = np.convolve`, `helper = lambda a, b: signal.convolve2d(a, b)`."""
    reader = _Reader(modules, {}, 0, [])
    tainted = {name: path for name, path in modules.items() if is_convolution(path)}
    assignments = [(target.id, node.value) for tree in trees for node in tree.body
                   if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None
                   for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                   if isinstance(target, ast.Name)]
    changed = True
    while changed:
        changed = False
        for name, value in assignments:
            if name in tainted:
                continue
            for inner in ast.walk(value):
                path = reader.path(inner) if isinstance(inner, (ast.Name, ast.Attribute)) else None
                if path and is_convolution(path):
                    tainted[name] = path
                elif isinstance(inner, ast.Name) and inner.id in tainted:
                    tainted[name] = tainted[inner.id]
                else:
                    continue
                changed = True
                break
    return tainted


def read(cells: list[str]) -> dict[str, Unit]:
    """The units of a program (its cells, in order); cells that do not parse are skipped (the
    sandbox reports their SyntaxError)."""
    trees, sources = [], []
    for index, source in enumerate(cells):
        try:
            trees.append((index, ast.parse(source)))
            sources.append(source.splitlines())
        except (SyntaxError, ValueError):
            continue
    modules = _imports(tree for _, tree in trees)
    tainted = _aliases([tree for _, tree in trees], modules)
    units: dict[str, Unit] = {TOP: Unit()}
    for (index, tree), lines in zip(trees, sources, strict=True):
        reader = _Reader(modules, tainted, index, lines)
        for statement in tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                reader.unit = units.setdefault(statement.name, Unit())
                for decorator in statement.decorator_list:
                    reader.unit = units[TOP]
                    reader.visit(decorator)
                reader.unit = units[statement.name]
                for part in statement.body:
                    reader.visit(part)
                if not isinstance(statement, ast.ClassDef):
                    reader.visit(statement.args)
            else:
                reader.unit = units[TOP]
                reader.visit(statement)
    return units


def _reach(units: dict[str, Unit], start: str, skip: Iterable[str]) -> list[str]:
    """Units reachable from `start` through the names they reference, not crossing `skip`."""
    seen, todo, skip = {start}, [start], set(skip)
    while todo:
        for name in sorted(units[todo.pop()].references):
            if name in units and name not in seen and name not in skip and name != TOP:
                seen.add(name)
                todo.append(name)
    return [start, *sorted(seen - {start})]


def check(cells: list[str], functions: Iterable[str], from_scratch: Iterable[str] = (),
          edges: dict[str, tuple[str, ...]] | None = None) -> dict[str, Violation]:
    """For each graded function the policy costs its points, the first violation (naming the line;
    one in top-level code counts the others in `more`)."""
    units = read(cells)
    edges = edges or {}
    from_scratch = set(from_scratch)
    top = [hit for name in _reach(units, TOP, ()) for hit in units[name].escapes]
    verdicts: dict[str, Violation] = {}
    for function in functions:
        if top:
            verdicts[function] = dataclasses.replace(top[0], more=len(top) - 1)
            continue
        if function not in units:
            continue
        reached = _reach(units, function, edges.get(function, ()))
        escapes = [hit for name in reached for hit in units[name].escapes]
        if escapes:
            verdicts[function] = escapes[0]
        elif function in from_scratch:
            used = [hit for name in reached for hit in units[name].convolutions]
            if used:
                verdicts[function] = used[0]
    return verdicts
