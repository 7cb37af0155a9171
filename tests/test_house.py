"""The house: the package students import (digits/) has no import loop and does not reach up into models/,
whose registry is written out; the maintainer's tools live outside it. Read from the source with ast, so an
import hidden inside a function counts as much as one at the top."""
import ast
import os

import digits

PACKAGE = os.path.join(digits.PROJECT_ROOT, "digits")


def imports_of(path, package):
    """The top-level names and the modules of `package` that the file at `path` imports, anywhere in it."""
    modules = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from .x import y, from . import x
                base = f"{package}.{node.module}" if node.module else package
                modules |= {base} if node.module else {f"{package}.{alias.name}" for alias in node.names}
            elif node.module:
                modules.add(node.module)
    return modules


def graph():
    """{module: the digits modules it imports} for every module of digits/, and everything each imports."""
    edges, everything = {}, {}
    for name in sorted(os.listdir(PACKAGE)):
        if name.endswith(".py"):
            module = "digits" if name == "__init__.py" else f"digits.{name[:-3]}"
            found = imports_of(os.path.join(PACKAGE, name), "digits")
            everything[module] = found
            edges[module] = {m for m in found if m.startswith("digits.") and m != module}
    return edges, everything


def test_digits_has_no_import_loop():
    edges, _ = graph()
    state = {}

    def visit(module, path):
        state[module] = "open"
        for target in sorted(edges.get(module, ())):
            assert state.get(target) != "open", "import loop: " + " -> ".join(path + [target])
            if target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in edges:
        if module not in state:
            visit(module, [module])


def test_digits_does_not_import_models_or_the_tools():
    _, everything = graph()
    for module, found in everything.items():
        upward = sorted(m for m in found if m == "models" or m.startswith(("models.", "tools")))
        assert not upward, f"{module} imports {upward}: digits/ is what models/ and tools/ build on"


def test_the_model_registry_is_written_out():
    """models/__init__.py names each network's module, so a reader (and a tool) sees the registry."""
    path = os.path.join(digits.PROJECT_ROOT, "models", "__init__.py")
    source = open(path, encoding="utf-8").read()
    assert "pkgutil" not in source and "importlib" not in source
    files = sorted(f[:-3] for f in os.listdir(os.path.dirname(path)) if f.endswith(".py") and f != "__init__.py")
    imported = imports_of(path, "models")
    assert {f"models.{name}" for name in files} <= imported, (files, imported)


def test_the_maintainers_tools_are_outside_the_package_students_import():
    for name in ("report", "published", "notebooks"):
        assert not os.path.exists(os.path.join(PACKAGE, f"{name}.py"))
        assert os.path.exists(os.path.join(digits.PROJECT_ROOT, "tools", f"{name}.py"))
