"""Pass/fail criteria on the metrics of one task, e.g. ``"rate['exc'] > 5 and
rate['exc'] < 20"`` or ``"accuracy >= 0.95 and energy < 2e-6"``.

An expression may use: numbers and strings; the metric names of :mod:`.metrics`
(``rate``, ``energy``, ``memory``, ``failed_circuits``, and every metric the script
recorded; ``rate['exc']`` indexes a per-population metric); the swept parameters by
name (strings); comparisons (chains such as ``5 < rate['exc'] < 20`` too), ``and``,
``or``, ``not``, ``+ - * / %``, ``abs``, ``min``, ``max``. Anything else (attributes,
other calls, comprehensions, lambdas...) is refused before evaluation, and the
expression is evaluated without builtins, so it cannot reach the interpreter. A task
that lacks a metric the expression uses does not meet it.
"""

import ast

ALLOWED_FUNCTIONS = {"abs": abs, "min": min, "max": max}
_NODES = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
          ast.UAdd, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod,
          ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
          ast.Name, ast.Load, ast.Constant, ast.Subscript, ast.Call, ast.Tuple, ast.List)


class CriterionError(ValueError):
    """The criterion cannot be parsed, or uses something not allowed."""


class Criterion:
    """A compiled criterion; ``criterion(metrics)`` is True or False."""

    def __init__(self, expression):
        self.expression = str(expression)
        try:
            tree = ast.parse(self.expression.strip(), mode="eval")
        except SyntaxError as error:
            raise CriterionError(f"criterion {self.expression!r} is not an expression: "
                                 f"{error.msg}") from None
        for node in ast.walk(tree):
            if not isinstance(node, _NODES):
                raise CriterionError(
                    f"criterion {self.expression!r}: {type(node).__name__} is not allowed; "
                    f"use metric names, numbers, comparisons, and/or/not, + - * / and "
                    f"{', '.join(ALLOWED_FUNCTIONS)}")
            if isinstance(node, ast.Call) and not (
                    isinstance(node.func, ast.Name) and node.func.id in ALLOWED_FUNCTIONS
                    and not node.keywords):
                raise CriterionError(f"criterion {self.expression!r}: only "
                                     f"{', '.join(ALLOWED_FUNCTIONS)} can be called")
            if isinstance(node, ast.Name) and node.id.startswith("__"):
                raise CriterionError(f"criterion {self.expression!r}: the name {node.id} "
                                     f"is not allowed")
        self.names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
                            - set(ALLOWED_FUNCTIONS))
        self._code = compile(tree, "<criterion>", "eval")

    def __call__(self, metrics, params=None):
        """Whether the `metrics` (nested dict of one task) and swept `params` meet
        the criterion; False when a metric it uses is missing."""
        namespace = {**(params or {}), **metrics, **ALLOWED_FUNCTIONS}
        if any(name not in namespace for name in self.names):
            return False
        try:
            return bool(eval(self._code, {"__builtins__": {}}, namespace))
        except (KeyError, IndexError, TypeError, ZeroDivisionError):
            return False

    def __repr__(self):
        return f"Criterion({self.expression!r})"


