"""No chapter of the book answers an exercise (issue 14, section 1).

The graded functions are read from the instructor notebooks, not listed here: a function (``def`` or a
lambda assigned to a name) defined in a solution cell of ``solutions/<name>/<name>.ipynb`` is graded when
a test cell of the same notebook uses its name. A chapter (every ``book/*.md``, parsed by the same MyST
reader as the build) fails when it

* defines a function under a graded name: ``def``, a lambda or another callable assigned to it
  (``sigmoid = special.expit``, ``functools.partial(...)``), or an ``import ... as`` under that name;
* defines a function, under any name, whose body is a graded solution's body up to renaming (docstrings
  dropped, every variable, argument and function name replaced by its order of first appearance).

Calling a library function under its own name (``from scipy.special import softmax``) is allowed: that is
what the issue asks the chapters to do.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted(ROOT.glob("solutions/*/*.ipynb"))
CHAPTERS = sorted((ROOT / "book").glob("*.md"))

# Calls whose result is a new callable: assigning one to a graded name defines that function.
CALLABLE_FACTORIES = {"partial", "vectorize", "frompyfunc", "jit", "compile", "wraps"}


@dataclass(frozen=True)
class Graded:
    name: str
    assignment: str
    source: str  # the solution's definition, as Python
    shape: str  # its normalised body (see normalised_body)


def python_source(cell_source: str) -> str:
    """Cell text as Python: IPython magics and shell escapes transformed as IPython would run them."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


class _Canonical(ast.NodeTransformer):
    """Rename every identifier (variables, arguments, nested names) to v0, v1, ... in order of appearance."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _new(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(id=self._new(node.id), ctx=node.ctx), node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return ast.copy_location(ast.arg(arg=self._new(node.arg), annotation=None), node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self._new(node.name)
        node.returns = None
        node.decorator_list = []
        self.generic_visit(node)
        return node


# Input coercions that do not change what a function computes: np.asarray(x, dtype=float) reads as x.
COERCIONS = {"asarray", "asanyarray", "array", "float", "convert_to_tensor"}


class _Uncoerced(ast.NodeTransformer):
    """np.asarray(x, ...) -> x, and then the no-op statements `x = x` it leaves are dropped."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        return node.args[0] if called in COERCIONS and len(node.args) == 1 else node

    def visit_Assign(self, node: ast.Assign) -> ast.AST | None:
        self.generic_visit(node)
        if len(node.targets) == 1 and ast.dump(node.targets[0]).replace("Store", "Load") == ast.dump(node.value):
            return None
        return node


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def normalised_body(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> str:
    """The function's arguments and body, docstring and input coercions dropped, identifiers renamed by
    first appearance.

    A lambda ``lambda a: e`` has the shape of ``def f(a): return e``.
    """
    if isinstance(fn, ast.Lambda):
        args, body = fn.args, [ast.Return(value=fn.body)]
    else:
        args, body = fn.args, _without_docstring(fn.body)
    template = ast.parse("def f(): pass")
    template.body[0].args, template.body[0].body = args, body or [ast.Pass()]
    fresh = ast.parse(ast.unparse(template)).body[0]  # a new tree: the caller's nodes stay untouched
    fresh = _Uncoerced().visit(fresh)
    fresh.body = fresh.body or [ast.Pass()]
    renamed = _Canonical().visit(fresh)
    renamed.name = "f"
    return ast.dump(renamed, annotate_fields=False, include_attributes=False)


def _assigned_names(node: ast.AST) -> list[str]:
    """Names bound by a plain, annotated or walrus assignment (tuples unpacked)."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)):
        targets = [node.target]
    else:
        return []
    names = []
    for target in targets:
        names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return names


def _is_callable_value(value: ast.AST | None) -> bool:
    """A value that is a function: a lambda, another name or attribute (an alias), a functools.partial(...)."""
    if isinstance(value, (ast.Lambda, ast.Name, ast.Attribute)):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return called in CALLABLE_FACTORIES
    return False


def function_definitions(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    """Every (name, node) that defines a function anywhere in the tree (lambdas under the name they get)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((node.name, node))
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and _is_callable_value(node.value):
            found += [(name, node) for name in _assigned_names(node)]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found += [(alias.asname, node) for alias in node.names if alias.asname]
    return found


def function_bodies(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, normalised body) of every def and lambda in the tree."""
    return [(node.lineno, normalised_body(node)) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]


def graded_functions(path: Path) -> list[Graded]:
    """Functions defined in the solution cells of one instructor notebook and used by its test cells."""
    nb = nbformat.read(path, as_version=4)
    defined: dict[str, ast.AST] = {}
    used: set[str] = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        tree = ast.parse(python_source(cell.source))
        if meta.get("solution"):
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    defined[node.name] = node
                elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
                    defined.update({name: node.value for name in _assigned_names(node)})
        if meta.get("grade"):
            used |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return [Graded(name, path.stem, ast.unparse(fn) if not isinstance(fn, ast.Lambda) else f"{name} = {ast.unparse(fn)}",
                   normalised_body(fn)) for name, fn in defined.items() if name in used]


@pytest.fixture(scope="module")
def graded() -> list[Graded]:
    found = [g for path in SOLUTIONS for g in graded_functions(path)]
    assert found, f"no graded functions found in {ROOT / 'solutions'}"
    return found


def chapter_code(path: Path) -> list[tuple[int, str]]:
    """(cell number, Python source) of every code cell, read by the build's own MyST reader."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    nb = read_myst_markdown_notebook(path.read_text(encoding="utf-8"), MdParserConfig(), path=path)
    return [(i, python_source(c.source)) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def violations(source: str, graded: list[Graded]) -> list[str]:
    """What in this code gives an exercise away, one line each (empty when nothing does)."""
    names = {g.name: g for g in graded}
    shapes = {g.shape: g for g in graded}
    tree = ast.parse(source)
    found = []
    for name, node in function_definitions(tree):
        if name in names:
            found.append(f"line {node.lineno}: defines `{name}`, a graded function of {names[name].assignment}")
    for line, shape in function_bodies(tree):
        if shape in shapes:
            g = shapes[shape]
            found.append(f"line {line}: a function whose body is the solution of `{g.name}` ({g.assignment})")
    return found


def test_every_assignment_has_graded_functions(graded):
    """The derivation finds something in each instructor notebook (else the check below checks nothing)."""
    per_assignment = {g.assignment for g in graded}
    assert per_assignment == {p.stem for p in SOLUTIONS}


def test_the_check_catches_what_it_should(graded):
    """Each graded solution, pasted, renamed or aliased, is caught; a library call under its own name is not."""
    for g in graded:
        assert violations(g.source, graded), f"the solution of {g.name} pasted as it is"
        tree = ast.parse(g.source)
        fn = tree.body[0]
        fn = fn.value if isinstance(fn, ast.Assign) else fn
        if isinstance(fn, ast.FunctionDef):
            fn.name = "my_own_name"
        else:
            tree.body[0].targets = [ast.Name(id="my_own_name", ctx=ast.Store())]
        for arg in fn.args.args:  # rename the arguments and every use of them
            for node in ast.walk(fn):
                if isinstance(node, ast.Name) and node.id == arg.arg:
                    node.id = f"{arg.arg}_renamed"
            arg.arg = f"{arg.arg}_renamed"
        renamed = ast.unparse(tree)
        found = violations(renamed, graded)
        assert any("body is the solution" in v for v in found), f"{g.name} renamed:\n{renamed}"
    name = graded[0].name
    assert violations(f"{name} = lambda t: t", graded)
    assert violations(f"import numpy\n{name} = numpy.exp", graded)
    assert violations(f"from numpy import exp as {name}", graded)
    assert violations(f"import functools\n{name} = functools.partial(print, 1)", graded)
    assert violations(f"def outer():\n    def {name}(t):\n        return t\n    return {name}", graded)
    assert not violations(f"from scipy.special import {name}\nvalue = {name}(1.0)", graded)
    assert not violations("def unrelated(a, b):\n    return a * b + 1", graded)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_does_not_answer_an_exercise(chapter, graded):
    problems = [f"{chapter.relative_to(ROOT)}, code cell {i}, {v}"
                for i, source in chapter_code(chapter) for v in violations(source, graded)]
    assert not problems, ("the book gives an exercise away (issue 14: use a library function or work another "
                          "case, and point to the exercise):\n" + "\n".join(problems))
