"""The expression language and templates of contract section 2.

An expression is parsed with :func:`ast.parse` and then compiled, node by
node, into a tree of small Python closures. Only an allow-listed set of AST
node types is accepted; anything else (attribute access on Python objects,
calls outside :data:`FUNCTIONS`, lambdas, comprehensions, f-strings, ...) is
refused at parse time, so it is never executed. Nothing here uses ``eval``,
``exec`` or ``compile``.

Values are plain JSON data. Field access (``nodes.mood.output.label``) is a
dict lookup; there are no methods, so tricks such as ``"{0.__class__}".format``
cannot be written. Every operation that could amplify memory or time
(exponentiation, repetition, concatenation, ``join``, ``replace``, ``json``,
text templates) checks the size of its result before building it.

Decisions (documented for users in ``docs/expressions.md``):

- A missing object key, an index out of range and any field or index of
  ``null`` yield ``null``, so ``default(nodes.a.output.text, "")`` works when
  ``a`` did not run. Reading a field of a string, number, boolean or list is an
  error: that is a mistake in the expression, not missing data.
- ``round`` rounds half away from zero (``round(2.5) == 3``), unlike Python.
- Identifiers starting with ``__`` are refused; a single leading underscore is
  allowed because node ids may start with one (``nodes._cleanup.output``).

The package imports nothing from Django. Its parts: ``values`` (limits,
errors, JSON values), ``operators``, ``functions`` (the allow-listed
functions), ``compiler`` (AST to closures; ``parse_expression``,
``evaluate``) and ``templates`` (``{{ }}`` rendering and checks).
"""

from __future__ import annotations

from builder.expressions.compiler import Expression, evaluate, expression_errors, parse_expression
from builder.expressions.functions import FUNCTIONS, describe_functions
from builder.expressions.templates import (
    referenced_nodes,
    render,
    render_text,
    template_errors,
    template_parts,
    template_references,
)
from builder.expressions.values import (
    CONTEXT_NAMES,
    LITERAL_NAMES,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_EXPRESSION_LENGTH,
    MAX_INT_BITS,
    MAX_RESULT_LENGTH,
    MAX_ROUND_DIGITS,
    TEMPLATE_RE,
    Context,
    Evaluator,
    ExpressionError,
    to_text,
    type_name,
)

__all__ = [
    "CONTEXT_NAMES",
    "FUNCTIONS",
    "LITERAL_NAMES",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_EXPRESSION_LENGTH",
    "MAX_INT_BITS",
    "MAX_RESULT_LENGTH",
    "MAX_ROUND_DIGITS",
    "TEMPLATE_RE",
    "Context",
    "Evaluator",
    "Expression",
    "ExpressionError",
    "describe_functions",
    "evaluate",
    "expression_errors",
    "parse_expression",
    "referenced_nodes",
    "render",
    "render_text",
    "template_errors",
    "template_parts",
    "template_references",
    "to_text",
    "type_name",
]
