"""Kubernetes views of the contract's models: the CRD side of a field is derived from its API declaration, never
written again.

A view has the contract model's fields under the same Python names, each spelled in camelCase in Kubernetes (or under a
released CRD name, e.g. `repeat` for the API's `num_loops`), with the same bounds, enums, patterns, defaults,
descriptions and cross-field rules; nested contract models become their own views. A kind's CRD spec is the view of its
API spec on top of the Kubernetes-only fields (`ManagedSpec` and the kind's references, Secrets, ...). As the Python
names are the API's, the mapping between a CR and an API body is a dump by name on one side and a load by name on the
other (`to_api_spec`, `from_api_spec`); the kind modules only add what has no counterpart (references).
"""

from __future__ import annotations

import copy
import types
from collections.abc import Collection, Mapping
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, create_model, field_validator
from pydantic.fields import FieldInfo

from signalcraft.api.rules import RuleChecked
from signalcraft.controllers.common import CamelModel

ViewT = TypeVar("ViewT", bound=CamelModel)

_VIEWS: dict[type[BaseModel], type[CamelModel]] = {}
_CONTRACT_MODELS: dict[type[BaseModel], type[BaseModel]] = {}
"""Each view and the contract model it was derived from."""


def kubernetes_view(
    api_model: type[BaseModel],
    *,
    base: type[ViewT] = CamelModel,  # type: ignore[assignment]
    name: str | None = None,
    exclude: Collection[str] = (),
    names: Mapping[str, str] | None = None,
) -> type[ViewT]:
    """The CRD view of `api_model` on top of `base`: `exclude` drops API fields the kind replaces (a reference becomes
    a `...Ref`), `names` gives a field a Kubernetes name other than its camelCase spelling."""
    _refuse_unshared_validators(api_model)
    renamed = dict(names or {})
    fields: dict[str, Any] = {}
    for field_name, info in api_model.model_fields.items():
        if field_name in exclude:
            continue
        view_info = copy.copy(info)
        if field_name in renamed:
            alias = renamed.pop(field_name)
            view_info = FieldInfo.merge_field_infos(
                info, alias=alias, validation_alias=alias, serialization_alias=alias, alias_priority=2
            )
        fields[field_name] = (_view_annotation(info.annotation), view_info)
    if renamed:
        raise ValueError(f"{api_model.__name__} has no fields {sorted(renamed)}")
    view = create_model(
        name or api_model.__name__,
        __base__=base,
        __doc__=api_model.__doc__,
        __module__=base.__module__,
        __validators__=_field_validators(api_model, exclude),
        **fields,
    )
    view.cross_field_rules = (*base.cross_field_rules, *getattr(api_model, "cross_field_rules", ()))
    _CONTRACT_MODELS[view] = api_model
    return view


def view_of(api_model: type[BaseModel]) -> type[CamelModel]:
    """The (shared) plain view of a nested contract model."""
    if api_model not in _VIEWS:
        _VIEWS[api_model] = kubernetes_view(api_model)
    return _VIEWS[api_model]


def contract_model(view: type[BaseModel]) -> type[BaseModel] | None:
    return _CONTRACT_MODELS.get(view)


def to_api_spec(view: CamelModel, api_model: type[BaseModel], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The API body (snake_case JSON) of a CR's spec: its contract fields, loaded into the contract model by name;
    `extra` holds the API fields a kind maps itself (references resolved to SignalCraft names)."""
    contract_fields = set(api_model.model_fields) & set(type(view).model_fields)
    values = {**view.model_dump(mode="json", include=contract_fields, exclude_none=True), **(extra or {})}
    return api_model.model_validate(values, by_name=True).model_dump(mode="json", by_alias=True, exclude_none=True)


def from_api_spec(api_spec: Mapping[str, Any], api_model: type[BaseModel], view: type[CamelModel]) -> dict[str, Any]:
    """The CR spec (camelCase) declaring an API spec: the fields it sets (defaults stay implicit); fields the view
    does not have (references) are left to the kind."""
    values = api_model.model_validate(dict(api_spec)).model_dump(mode="json", exclude_unset=True, exclude_none=True)
    shared = {key: value for key, value in values.items() if key in view.model_fields}
    parsed = view.model_validate(shared, by_name=True)
    return parsed.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)


def kubernetes_json(value: Any, view: type[BaseModel]) -> Any:
    """API JSON spelled in a view's JSON names, without validating it: what a CR saying the same would hold. Keys the
    view does not know are kept, so that an object the API refuses for them is tried at admission too."""
    if not isinstance(value, Mapping):
        return value
    fields = (contract_model(view) or view).model_fields
    by_api_name = {(info.alias or name): name for name, info in fields.items()}
    converted: dict[str, Any] = {}
    # A kind may model an API field itself (EscalationPolicy's `rules_`, alias `rules`): found by its JSON name.
    by_alias = {info.alias: name for name, info in view.model_fields.items() if info.alias}
    for key, item in value.items():
        name = by_api_name.get(key)
        if name not in view.model_fields:
            name = by_alias.get(key)
        info = view.model_fields.get(name) if name is not None else None
        if name is None or info is None:
            converted[key] = item
            continue
        converted[info.serialization_alias or info.alias or name] = _kubernetes_value(item, info.annotation)
    return converted


def _kubernetes_value(item: Any, annotation: Any) -> Any:
    nested = _model_in(annotation)
    if nested is None:
        return item
    if isinstance(item, list):
        return [kubernetes_json(element, nested) for element in item]
    if isinstance(item, Mapping) and _is_map(annotation):
        return {key: kubernetes_json(value, nested) for key, value in item.items()}
    return kubernetes_json(item, nested)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _is_map(annotation: Any) -> bool:
    if get_origin(annotation) is dict:
        return True
    return any(_is_map(argument) for argument in get_args(annotation))


def _view_annotation(annotation: Any) -> Any:
    """`annotation` with every contract model in it replaced by its view (lists, maps, unions, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return view_of(annotation)
    origin = get_origin(annotation)
    arguments = get_args(annotation)
    if origin is Annotated:
        return Annotated[(_view_annotation(arguments[0]), *annotation.__metadata__)]
    if origin in (Union, types.UnionType):
        return Union[tuple(_view_annotation(argument) for argument in arguments)]  # noqa: UP007
    if origin is list:
        return list[_view_annotation(arguments[0])]  # type: ignore[misc]
    if origin is dict:
        return dict[_view_annotation(arguments[0]), _view_annotation(arguments[1])]  # type: ignore[misc]
    return annotation


def _field_validators(api_model: type[BaseModel], exclude: Collection[str]) -> dict[str, Any]:
    """The contract model's one-field checks (e.g. a known time zone), run by the view too."""
    validators: dict[str, Any] = {}
    for name, decorator in api_model.__pydantic_decorators__.field_validators.items():
        fields = [field for field in decorator.info.fields if field not in exclude]
        if fields:
            function = getattr(decorator.func, "__func__", decorator.func)  # the classmethod's own function
            validators[name] = field_validator(*fields, mode=decorator.info.mode)(classmethod(function))
    return validators


def _refuse_unshared_validators(api_model: type[BaseModel]) -> None:
    """A model validator written on the contract model would not reach its view: cross-field checks are `Rule`s."""
    decorators = api_model.__pydantic_decorators__
    own = set(decorators.model_validators) - set(RuleChecked.__pydantic_decorators__.model_validators)
    if own:
        raise TypeError(f"{api_model.__name__} validates with {sorted(own)}: write cross-field checks as Rules")
