"""The package's shape, as a reader meets it: layers without circles, modules and
functions of a size one can hold, and no private names of other packages.

Read from the source with ``ast`` (nothing is imported), so the imports made inside
functions count as much as those at the top of a module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

#: auglab imports allowed inside functions: each breaks a real cost (a heavy optional
#: dependency pulled in by the imported module), said in a comment at the import.
INNER_IMPORTS_ALLOWED: set[tuple[str, str]] = {
    # wandb-workspaces is the optional wandb-report extra, and it and wandb cost 0.1-0.5 s
    # in every job process (Hydra loads the callback there) for an option off by default.
    ("auglab.end_of_sweep", "auglab.report.wandb_report"),
    # `python -m auglab.report` works without wandb-workspaces; only --wandb-report needs it.
    ("auglab.report.cli", "auglab.report.wandb_report"),
    # `python -m auglab.evaluate --help`, or a dir with nothing left to evaluate, answers in
    # 0.3 s instead of ~13 s: the suite (torch, torchvision, albumentations, cv2) and the
    # train task (Lightning, data, models) load only once a job is evaluated again.
    ("auglab.evaluate", "auglab.shift.shifted_sets"),
    ("auglab.evaluate", "auglab.job"),
    ("auglab.evaluate", "auglab.scoring"),
    # The train task and checkpoints load torch and Lightning (~3 s): a skipped job and a
    # sweep's parent process never need them.
    ("auglab.guard", "auglab.job"),
    ("auglab.guard", "auglab.checkpoints"),
    # The pilot that times a sweep before launch loads Lightning and the data and model code
    # (~3 s): only a sweep asked to be timed pays it, not every sweep's parent process.
    ("auglab.estimate", "auglab.pilot"),
}

#: Private names of other packages still used, each in its adapter module (whose test
#: fails when the library changes it): (module, dotted name).
PRIVATE_ALLOWED: set[tuple[str, str]] = {
    # Nothing public tells ddp_spawn from ddp; tests/test_spawn.py fails if Lightning moves it.
    ("auglab.spawn", "lightning.pytorch.strategies.launchers._MultiProcessingLauncher"),
    # Lightning's DDP children re-run sys.argv: one job's command, not the whole sweep's.
    ("auglab.ddp", "patches sys...argv"),
    ("auglab.ddp", "patches __main__...__spec__"),
    # logging's documented switch (Handler.handleError): a full disk is said once, in the
    # job's end line, not as a traceback per log line.
    ("auglab.console", "patches logging...raiseExceptions"),
}


def _modules() -> dict[str, Path]:
    mods = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _ours(name: str) -> str | None:
    """The auglab module a dotted import name lands in, or None for another package."""
    if not (name == "auglab" or name.startswith(("auglab.", "hydra_plugins.auglab"))):
        return None
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> Iterator[tuple[str, ast.stmt, bool]]:
    """(imported dotted name, node, inside a function) for every import in ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    inner = {
        id(node)
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(fn)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node, id(node) in inner
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            yield base, node, id(node) in inner
            for alias in node.names:
                yield f"{base}.{alias.name}", node, id(node) in inner


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for name, _, _ in _imports(module):
            target = _ours(name)
            if target is not None and target != module:
                graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        comp.append(top)
                        if top == node:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_cycle_finder_finds_a_planted_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_counting_imports_inside_functions() -> None:
    assert _cycles(_graph()) == []


def test_auglab_imports_inside_functions_only_where_allowed() -> None:
    inner = sorted(
        {
            (module, target, node.lineno)
            for module in MODULES
            for name, node, in_function in _imports(module)
            if in_function and (target := _ours(name)) and target != module
        }
    )
    assert [x for x in inner if x[:2] not in INNER_IMPORTS_ALLOWED] == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_fits_on_a_few_screens(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{MODULES[module]}: {lines} lines"


def test_functions_fit_on_a_screen() -> None:
    long = [
        f"{path.relative_to(SRC)}:{fn.lineno} {fn.name} ({fn.end_lineno - fn.lineno + 1})"
        for path in MODULES.values()
        for fn in ast.walk(ast.parse(path.read_text()))
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        and fn.end_lineno - fn.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


#: Underscored names the standard library documents as public.
DOCUMENTED_PUBLIC = {"os._exit", "sys._getframe"}

#: Modules other packages keep out of their documented API, though unprefixed.
INTERNAL_MODULES = ("wandb.sdk", "albumentations.augmentations", "hydra._internal")


def _own_private_names() -> set[str]:
    """Every ``_name`` auglab itself defines (functions, classes, attributes)."""
    names: set[str] = set()
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("self", "cls")
            ):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return {n for n in names if n.startswith("_")}


def _private_uses(module: str, own: set[str]) -> Iterator[str]:
    """Private names of other packages that ``module`` imports, reaches as an attribute
    (``x._name`` where auglab defines no ``_name``) or calls on ``super()``, and
    attributes of other packages it replaces at run time."""
    for name, _, _ in _imports(module):
        if _ours(name) is not None or name in DOCUMENTED_PUBLIC:
            continue
        if name.startswith(INTERNAL_MODULES) or any(
            part.startswith("_") and not part.startswith("__") for part in name.split(".")
        ):
            yield name
    tree = ast.parse(MODULES[module].read_text())
    external = {
        (alias.asname or alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
        if _ours(alias.name if isinstance(node, ast.Import) else node.module or "") is None
        and not getattr(node, "level", 0)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and str(node.args[1].value).startswith("_")
            and not str(node.args[1].value).startswith("__")
            and node.args[1].value not in own
        ):
            yield f"{node.func.id}(..., {node.args[1].value!r})"
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in external:
                yield f"patches {root.id}...{node.attr}"
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__"):
            continue
        value = node.value
        on_super = (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "super"
        )
        root = value
        while isinstance(root, ast.Attribute):
            root = root.value
        where = root.id if isinstance(root, ast.Name) else "..."
        if f"{where}.{node.attr}" in DOCUMENTED_PUBLIC:
            continue
        if on_super or where in external or node.attr not in own:
            yield f"{'super()' if on_super else where}.{node.attr}"


@pytest.mark.slow
def test_no_private_names_of_other_packages_outside_adapters() -> None:
    own = _own_private_names()
    used = sorted(
        (module, name)
        for module in MODULES
        for name in _private_uses(module, own)
        if (module, name) not in PRIVATE_ALLOWED
    )
    assert used == []
