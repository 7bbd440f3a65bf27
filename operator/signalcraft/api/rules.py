"""Cross-field rules, each written once and enforced on both sides of the contract.

A `Rule` holds the CEL expression Kubernetes evaluates at admission (emitted as `x-kubernetes-validations` in the CRDs)
and the Python check the API server and the operator run (through pydantic, on every model carrying the rule). Both
speak of fields by their Python (API, snake_case) names; the CRD generator translates `self.<field>` references into
each schema's JSON names. Every rule carries examples on which both sides must agree; a test runs each rule both ways.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from pydantic import BaseModel, model_validator


@dataclass(frozen=True)
class Rule:
    cel: str
    """The CEL expression, true when the object is valid; `self` is the object the rule is attached to."""
    check: Callable[[Any], bool]
    """The same rule in Python, given the model instance: true when the object is valid."""
    message: str
    field_path: str | None = None
    """Where the error points, as a JSON path below the object (`.conditions`); Python field names."""
    valid: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)
    """Objects (in the API's JSON form) the rule accepts..."""
    invalid: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)
    """...and objects it refuses; both sides are tested on them."""

    def kubernetes(self, names: Mapping[str, str]) -> dict[str, str]:
        """The `x-kubernetes-validations` entry, with field names mapped to the schema's JSON names."""
        entry = {"rule": rename_fields(self.cel, names), "message": self.message}
        if self.field_path is not None:
            entry["fieldPath"] = rename_fields(self.field_path, names)
        return entry


def rename_fields(expression: str, names: Mapping[str, str]) -> str:
    """`expression` with each `.field` (a Python field name in `names`) spelled as its JSON name."""
    out: list[str] = []
    index = 0
    while index < len(expression):
        char = expression[index]
        if char in "'\"":  # string literals stay as written
            end = expression.index(char, index + 1) + 1
            out.append(expression[index:end])
            index = end
            continue
        if (
            char == "."
            and index + 1 < len(expression)
            and (expression[index + 1].isalpha() or expression[index + 1] == "_")
        ):
            end = index + 1
            while end < len(expression) and (expression[end].isalnum() or expression[end] == "_"):
                end += 1
            word = expression[index + 1 : end]
            followed_by_call = end < len(expression) and expression[end] == "("
            out.append("." + (word if followed_by_call else names.get(word, word)))
            index = end
            continue
        out.append(char)
        index += 1
    return "".join(out)


class RuleChecked(BaseModel):
    """Base of every model that carries cross-field rules: pydantic runs each rule's Python check after the fields."""

    cross_field_rules: ClassVar[tuple[Rule, ...]] = ()

    @model_validator(mode="after")
    def _cross_field_rules_hold(self) -> Self:
        for rule in type(self).cross_field_rules:
            if not rule.check(self):
                raise ValueError(rule.message)
        return self


def exactly_one_of(
    first: str,
    second: str,
    message: str,
    *,
    valid: tuple[Mapping[str, Any], ...] = (),
    invalid: tuple[Mapping[str, Any], ...] = (),
) -> Rule:
    """The object names exactly one of two optional fields."""
    return Rule(
        cel=f"has(self.{first}) != has(self.{second})",
        check=lambda value: (getattr(value, first) is None) != (getattr(value, second) is None),
        message=message,
        valid=valid,
        invalid=invalid,
    )


__all__ = ["Rule", "RuleChecked", "exactly_one_of", "rename_fields"]
