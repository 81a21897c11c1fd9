"""Layers by path: the app imports the harness and the contracts, the harness the contracts, plugins the contracts
and the harness' library; never the other way. Read from the source (every import statement, at module level or
inside a function), so that a lazy import cannot hide a dependency."""

import ast
import re
from pathlib import Path

import pytest

import gan_zoo
import gan_zoo.harness

ROOT = Path(__file__).resolve().parents[1]
# the folders and the packages they import as (pyproject.toml maps harness/ and plugins/ into gan_zoo)
FOLDERS = {"gan_zoo": ROOT / "gan_zoo", "gan_zoo.harness": ROOT / "harness", "gan_zoo.plugins": ROOT / "plugins"}
EXAMPLE_PLUGINS = sorted((ROOT / "examples").glob("*/*/*.py"))  # each example plugin's package
APP, HARNESS, PLUGINS = "gan_zoo.app", "gan_zoo.harness", "gan_zoo.plugins"


def harness_part(name: str) -> tuple[str, ...]:
    """A part's modules as harness/__init__.py's docstring lists them: the indented lines under `Name:`."""
    found = re.search(rf"^{name}:\n((?:    .+\n?)+)", gan_zoo.harness.__doc__, re.MULTILINE)
    assert found, f"harness/__init__.py's docstring lists no {name} modules"
    return tuple(f"{HARNESS}.{module}" for module in found.group(1).split())


LIBRARY, ENGINE = harness_part("Library"), harness_part("Engine")


def module_name(path: Path) -> str:
    for package, folder in FOLDERS.items():
        if folder in path.parents:
            parts = path.relative_to(folder).with_suffix("").parts
            return ".".join((package, *(p for p in parts if p != "__init__")))
    return ".".join(path.relative_to(path.parents[1]).with_suffix("").parts).removesuffix(".__init__")


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def imports(path: Path) -> list[tuple[str, ast.stmt, bool]]:
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    return imports_in(path.read_text(), package)


def imports_in(source: str, package: str) -> list[tuple[str, ast.stmt, bool]]:
    """(what is imported, the statement, whether it runs at import time) for every import in a module of
    `package`. A name taken from a package counts as the module it may be (`from gan_zoo.harness import knn`), and a
    name gan_zoo exports lazily as the module that defines it (`from gan_zoo import evaluate` is
    gan_zoo.harness.api)."""
    tree = ast.parse(source)
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    in_function = {id(node) for function in functions for node in ast.walk(function)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, one package up for each further dot
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            if base == "gan_zoo":
                names += [gan_zoo._EXPORTS[alias.name] for alias in node.names if alias.name in gan_zoo._EXPORTS]
        else:
            continue
        found += [(name, node, id(node) not in in_function) for name in names]
    return found


def under(name: str, *packages: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def commented(path: Path, node: ast.stmt) -> bool:
    """Whether the line above the statement is a comment (saying why the import is where it is)."""
    return path.read_text().splitlines()[node.lineno - 2].strip().startswith("#")


def type_checking_lines(path: Path) -> set[int]:
    """The lines of the import statements under `if TYPE_CHECKING:`, which only type checkers read."""
    return {node.lineno for block in ast.walk(ast.parse(path.read_text())) if isinstance(block, ast.If)
            and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
            for statement in block.body for node in ast.walk(statement)
            if isinstance(node, ast.Import | ast.ImportFrom)}


def where(path: Path, node: ast.stmt) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def test_the_contracts_import_neither_the_harness_nor_the_plugins_nor_the_app():
    """gan_zoo/__init__.py's lazy export table names harness and app modules as strings, imported on first use, not
    by an import statement (its `if TYPE_CHECKING:` block repeats them for type checkers, never run); gan_zoo.testing
    checks behaviour through the harness, importing it inside its checks, each import under a comment saying why."""
    found = []
    for path in modules(FOLDERS["gan_zoo"]):
        if under(module_name(path), APP):
            continue
        type_only = type_checking_lines(path) if module_name(path) == "gan_zoo" else set()
        for name, node, at_import in imports(path):
            lazy_check = module_name(path) == "gan_zoo.testing" and not at_import and commented(path, node)
            if node.lineno in type_only:
                continue
            if under(name, HARNESS, PLUGINS, APP) and not (lazy_check and under(name, HARNESS)):
                found.append(f"{where(path, node)} imports {name}")
    assert not found, found


def test_the_harness_and_the_plugins_never_import_the_app():
    found = [f"{where(path, node)} imports {name}"
             for path in [*modules(FOLDERS[HARNESS]), *modules(FOLDERS[PLUGINS]), *EXAMPLE_PLUGINS]
             for name, node, _ in imports(path) if under(name, APP)]
    assert not found, found


def test_every_harness_module_is_in_one_part():
    listed = [*LIBRARY, *ENGINE]
    present = {module_name(path) for path in modules(FOLDERS[HARNESS])} - {HARNESS}
    assert len(listed) == len(set(listed)) and set(listed) == present, sorted(set(listed) ^ present)


def test_the_harness_library_never_imports_its_engine():
    found = [f"{where(path, node)} imports {name}"
             for path in modules(FOLDERS[HARNESS]) if module_name(path) in LIBRARY
             for name, node, _ in imports(path) if under(name, *ENGINE)]
    assert not found, found


def test_plugins_use_the_harness_library_only():
    found = [f"{where(path, node)} imports {name}"
             for path in [*modules(FOLDERS[PLUGINS]), *EXAMPLE_PLUGINS]
             for name, node, _ in imports(path) if under(name, *ENGINE)]
    assert not found, found


@pytest.mark.parametrize("source, expected", [
    ("import gan_zoo.app.cli\n", [("gan_zoo.app.cli", True)]),
    ("def f():\n    from gan_zoo.harness import evaluate\n",
     [("gan_zoo.harness", False), ("gan_zoo.harness.evaluate", False)]),
    ("from gan_zoo import evaluate, hookimpl\n",
     [("gan_zoo", True), ("gan_zoo.evaluate", True), ("gan_zoo.hookimpl", True), ("gan_zoo.harness.api", True)]),
    ("class A:\n    async def f(self):\n        from .knn import nearest\n",
     [("gan_zoo.harness.knn", False), ("gan_zoo.harness.knn.nearest", False)]),
    ("from .. import config\n", [("gan_zoo", True), ("gan_zoo.config", True)]),
])
def test_the_reader_sees_every_kind_of_import(source, expected):
    assert [(name, at_import) for name, _, at_import in imports_in(source, "gan_zoo.harness")] == expected
