"""Every issue code sheetcrm can emit, found in its source: each call that makes an issue or
carries its code (`Issue`, `CellError`, `PydanticCustomError`, `Problem`) is followed back from
its code argument to the literals it can hold, through module constants, f-strings, the
parameters of the functions that pass it on (at every call of them), and the tables of
messages keyed by code that the code is looked up in (`_MESSAGES[code]`: their keys). A code
argument the scan cannot follow is listed in `Scan.unresolved`, so a new way of making codes
fails the test until the scan (or `TABLES`) learns it."""

from __future__ import annotations

import ast
import itertools
import pathlib

import sheetcrm

PACKAGE = pathlib.Path(sheetcrm.__file__).parent
# Calls that take an issue code: the called name -> the argument's position (or keyword `code`).
SINKS = {"Issue": 6, "CellError": 0, "PydanticCustomError": 0, "Problem": 0}


class _Module:
    def __init__(self, name: str, path: pathlib.Path):
        self.name, self.path = name, path
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.parent: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parent[child] = node
        self.values: dict[str, ast.expr] = {}      # module-level NAME = expr
        self.imports: dict[str, tuple[str, str]] = {}  # local name -> (module, name)
        for node in self.tree.body:
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        self.values[t.id] = node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                self.values[node.target.id] = node.value
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    self.imports[a.asname or a.name] = (node.module, a.name)

    def function_of(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        while node in self.parent:
            node = self.parent[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return node  # type: ignore[return-value]
        return None


def _called(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


class Scan:
    def __init__(self) -> None:
        self.modules: dict[str, _Module] = {}
        for path in sorted(PACKAGE.rglob("*.py")):
            if "emulator" in path.parts:
                continue  # Google's imitation: its errors are not sheetcrm's issues
            rel = path.relative_to(PACKAGE.parent).with_suffix("")
            name = ".".join(p for p in rel.parts if p != "__init__")
            self.modules[name] = _Module(name, path)
        self.calls: dict[str, list[tuple[_Module, ast.Call]]] = {}
        self.defs: dict[str, list[tuple[_Module, ast.FunctionDef]]] = {}
        for m in self.modules.values():
            for node in ast.walk(m.tree):
                if isinstance(node, ast.Call) and _called(node):
                    self.calls.setdefault(_called(node), []).append((m, node))  # type: ignore[arg-type]
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.defs.setdefault(node.name, []).append((m, node))  # type: ignore[arg-type]
        self.codes: dict[str, str] = {}
        self.unresolved: list[str] = []

    # -- where a name is defined at module level, through `from x import name`
    def _global(self, m: _Module, name: str, seen: int = 0) -> tuple[_Module, ast.expr] | None:
        if name in m.values:
            return m, m.values[name]
        if name in m.imports and seen < 10:
            mod, real = m.imports[name]
            if mod in self.modules:
                return self._global(self.modules[mod], real, seen + 1)
        return None

    def _dict_keys(self, m: _Module, node: ast.expr) -> set[str] | None:
        if isinstance(node, ast.Name):
            found = self._global(m, node.id)
            if found and isinstance(found[1], ast.Dict):
                keys = found[1].keys
                if keys and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in keys):
                    return {k.value for k in keys}  # type: ignore[union-attr]
        return None

    def resolve(self, m: _Module, expr: ast.expr, depth: int = 0) -> set[str]:
        where = f"{m.path.relative_to(PACKAGE)}:{getattr(expr, 'lineno', '?')}"
        if depth > 12:
            self.unresolved.append(f"{where} (too deep)")
            return set()
        if isinstance(expr, ast.Constant):
            return {expr.value} if isinstance(expr.value, str) else set()
        if isinstance(expr, ast.JoinedStr):
            parts: list[set[str]] = []
            for v in expr.values:
                parts.append({v.value} if isinstance(v, ast.Constant) else self.resolve(m, v.value, depth + 1))
            return {"".join(p) for p in itertools.product(*parts)}
        if isinstance(expr, ast.Attribute) and expr.attr == "code":
            return set()  # a code carried by a CellError, PydanticCustomError or Problem: found where made
        if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant) and expr.slice.value == "type":
            return set()  # a pydantic error's type: a PydanticCustomError's code, found where made
        func = m.function_of(expr)
        # The code looks up a table of messages keyed by code (`_MESSAGES[code]`): its keys.
        if func is not None:
            keys: set[str] = set()
            for node in ast.walk(func):
                if isinstance(node, ast.Subscript) and ast.dump(node.slice) == ast.dump(expr):
                    keys |= self._dict_keys(m, node.value) or set()
            if keys:
                return keys
        if isinstance(expr, ast.Name):
            if func is not None and not isinstance(func, ast.Lambda):
                assigned = [n.value for n in ast.walk(func) if isinstance(n, ast.Assign)
                            and any(isinstance(t, ast.Name) and t.id == expr.id for t in n.targets)]
                for n in ast.walk(func):  # `code, noun = _NOT_MONEY[kind]`: that element of each value
                    if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Tuple) \
                            and isinstance(n.value, ast.Subscript) and isinstance(n.value.value, ast.Name):
                        names = [t.id if isinstance(t, ast.Name) else None for t in n.targets[0].elts]
                        found = self._global(m, n.value.value.id) if expr.id in names else None
                        if found and isinstance(found[1], ast.Dict):
                            i = names.index(expr.id)
                            assigned += [v.elts[i] for v in found[1].values if isinstance(v, ast.Tuple)]
                if assigned:
                    return set().union(*(self.resolve(m, a, depth + 1) for a in assigned))
                a = func.args
                params = [p.arg for p in a.posonlyargs + a.args]
                if expr.id in params + [p.arg for p in a.kwonlyargs]:
                    return self._from_callers(m, func, expr.id, depth)
            found = self._global(m, expr.id)
            if found:
                return self.resolve(found[0], found[1], depth + 1)
        self.unresolved.append(f"{where}: {ast.unparse(expr)}")
        return set()

    def _calls(self, cm: _Module, call: ast.Call, m: _Module, method: bool) -> bool:
        """Whether `call` (in `cm`) may call the function of that name defined in `m`."""
        f = call.func
        if isinstance(f, ast.Name):
            return cm is m or cm.imports.get(f.id, (None, None))[0] == m.name
        if method:
            return True  # obj.method(...): any object's method of that name
        return isinstance(f.value, ast.Name) and (  # type: ignore[union-attr]
            cm.imports.get(f.value.id, (None, None)) == tuple(m.name.rsplit(".", 1))  # type: ignore[union-attr]
            or f.value.id == m.name.rsplit(".", 1)[-1])  # type: ignore[union-attr]

    def _from_callers(self, m: _Module, func: ast.FunctionDef, param: str, depth: int) -> set[str]:
        a = func.args
        positional = [p.arg for p in a.posonlyargs + a.args]
        method = bool(positional) and positional[0] in ("self", "cls")
        out: set[str] = set()
        callers = [(cm, call) for cm, call in self.calls.get(func.name, []) if self._calls(cm, call, m, method)]
        if not callers:
            self.unresolved.append(f"{m.path.relative_to(PACKAGE)}:{func.lineno}: {func.name} is never called")
        defaults = dict(zip(positional[len(positional) - len(a.defaults):], a.defaults))
        defaults.update({k.arg: d for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None})
        for cm, call in callers:
            given = next((k.value for k in call.keywords if k.arg == param), None)
            if given is None and param in positional:
                i = positional.index(param) - (1 if method and isinstance(call.func, ast.Attribute) else 0)
                if 0 <= i < len(call.args) and not isinstance(call.args[i], ast.Starred):
                    given = call.args[i]
            if given is None and param in defaults:
                out |= self.resolve(m, defaults[param], depth + 1)
            elif given is not None:
                out |= self.resolve(cm, given, depth + 1)
            else:
                self.unresolved.append(f"{cm.path.relative_to(PACKAGE)}:{call.lineno}: {ast.unparse(call)[:80]}")
        return out

    def _length(self, m: _Module, expr: ast.expr) -> int:
        if isinstance(expr, ast.Tuple):
            return len(expr.elts)
        if isinstance(expr, ast.IfExp) and self._length(m, expr.body) == self._length(m, expr.orelse):
            return self._length(m, expr.body)
        func = m.function_of(expr)
        if isinstance(expr, ast.Name) and func is not None:
            lengths = {self._length(m, n.value) for n in ast.walk(func) if isinstance(n, ast.Assign)
                       and any(isinstance(t, ast.Name) and t.id == expr.id for t in n.targets)}
            if len(lengths) == 1:
                return lengths.pop()
        self.unresolved.append(f"{m.path.relative_to(PACKAGE)}:{expr.lineno}: *{ast.unparse(expr)}")
        return 1

    def run(self) -> "Scan":
        for name, position in SINKS.items():
            for m, call in self.calls.get(name, []):
                shift = 0
                for a in call.args[:position]:
                    if isinstance(a, ast.Starred):  # Issue(..., *at, ...): at's length, when it is a tuple
                        shift += self._length(m, a.value) - 1
                at = position - shift
                args = call.args[at:at + 1] + [k.value for k in call.keywords if k.arg == "code"]
                for arg in args:
                    for code in self.resolve(m, arg):
                        self.codes.setdefault(code, str(m.path.relative_to(PACKAGE)))
        return self



def _references() -> set[str]:
    from sheetcrm import validate
    return {rule[3] for rules in validate._REFERENCES.values() for rule in rules}


def _said() -> set[str]:
    """The codes of the (code, message, hint) tuples that crm/conditions.py's `*_said`
    functions return (the money a condition cannot price), unpacked by their callers."""
    tree = ast.parse((PACKAGE / "crm" / "conditions.py").read_text(encoding="utf-8"))
    return {node.elts[0].value for func in ast.walk(tree)
            if isinstance(func, ast.FunctionDef) and func.name.endswith("_said")
            for node in ast.walk(func) if isinstance(node, ast.Tuple) and len(node.elts) == 3
            and isinstance(node.elts[0], ast.Constant) and isinstance(node.elts[0].value, str)}


# Code arguments the scan cannot follow (a tuple unpacked from a rule passed in, or from a
# function's answer), each with the table its codes come from: file -> (expression, the codes).
TABLES = {"validate.py": ("code", _references), "crm/segments.py": ("code", _said),
          "crm/workflows.py": ("code", _said), "engine.py": ("code", _said)}


def emitted_codes() -> tuple[dict[str, str], list[str]]:
    """(every issue code sheetcrm can emit -> a file that makes it, the code arguments no rule
    and no entry of TABLES explains)."""
    scan = Scan().run()
    codes = dict(scan.codes)
    left = []
    for place in scan.unresolved:
        file, _, rest = place.partition(":")
        known = TABLES.get(file)
        if known is not None and rest.split(": ", 1)[-1] == known[0]:
            for code in known[1]():
                codes.setdefault(code, file)
        else:
            left.append(place)
    return codes, left
