"""Snapshots and actions as plain JSON, and back, for the control API's wire.

Generic over the dataclasses' own type hints so a field added to ``Snapshot`` (or anything
it nests) travels without touching this file. Decoding is forgiving in one direction only:
a key missing from older JSON takes the field's default and an unknown key is ignored, so a
newer viewer can follow an older engine and the other way round.

The encoder runs on the measuring event loop a few times a second, so the field lists and
decoders are worked out once per class, not per snapshot.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Callable, Mapping
from typing import Any, Union, get_args, get_origin, get_type_hints

from battletui.metrics import Snapshot
from battletui.scenario import Action

Decoder = Callable[[Any], Any]


class CodecError(ValueError):
    """JSON that does not describe the expected value (one line, says where)."""


# --- snapshots ---------------------------------------------------------------------------------


def snapshot_to_json(snapshot: Snapshot) -> dict[str, Any]:
    """Every field of ``snapshot`` as JSON-ready data (tuples become lists)."""
    encoded: dict[str, Any] = _encode(snapshot)
    return encoded


def snapshot_from_json(data: Mapping[str, Any]) -> Snapshot:
    """The inverse of ``snapshot_to_json``; ``CodecError`` when ``data`` does not fit."""
    snapshot: Snapshot = _decoder(Snapshot)(data)
    return snapshot


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _encode(value: Any) -> Any:
    """Plain data for ``value``; scalars are passed through without a call (hot: 8 Hz)."""
    cls: type = type(value)
    if cls in _SCALARS:
        return value
    if cls is tuple or cls is list:
        return [item if type(item) in _SCALARS else _encode(item) for item in value]
    names = _field_names(cls)
    if names is not None:
        return {
            name: item if type(item := getattr(value, name)) in _SCALARS else _encode(item)
            for name in names
        }
    if isinstance(value, Mapping):
        return {str(key): _encode(item) for key, item in value.items()}
    if isinstance(value, str | int | float):  # subclasses (enums and the like)
        return value
    raise CodecError(f"cannot encode {cls.__name__}")


@functools.cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    if not dataclasses.is_dataclass(cls):
        return None
    return tuple(f.name for f in dataclasses.fields(cls))


@functools.cache
def _decoder(tp: Any) -> Decoder:
    """A function turning JSON into a value of type ``tp`` (built once per type)."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_decoder(tp)
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in (Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        if len(present) != 1:
            return _plain  # e.g. str | int | float | bool: JSON already holds it
        inner = _decoder(present[0])
        return lambda value: None if value is None else inner(value)
    if origin is tuple:
        return _tuple_decoder(args)
    if isinstance(origin, type) and issubclass(origin, Mapping):
        item = _decoder(args[1]) if len(args) == 2 else _plain
        if origin is dict:
            return lambda value: {key: item(v) for key, v in _mapping(value).items()}
        return lambda value: types.MappingProxyType(
            {key: item(v) for key, v in _mapping(value).items()}
        )
    if tp is float:
        return _float
    return _plain  # str, int, bool, Literal[...], Any: JSON already holds them as they are


def _dataclass_decoder(cls: type) -> Decoder:
    hints = get_type_hints(cls)
    fields = [(f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls) if f.init]
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }

    def decode(value: Any) -> Any:
        data = _mapping(value)
        missing = required.difference(data)
        if missing:
            raise CodecError(f"{cls.__name__}: missing {', '.join(sorted(missing))}")
        kwargs = {name: decode_field(data[name]) for name, decode_field in fields if name in data}
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as err:
            raise CodecError(f"{cls.__name__}: {err}") from None

    return decode


def _tuple_decoder(args: tuple[Any, ...]) -> Decoder:
    if len(args) == 2 and args[1] is Ellipsis:
        item = _decoder(args[0])
        return lambda value: tuple(item(v) for v in _sequence(value))
    if not args:
        return lambda value: tuple(_sequence(value))
    items = [_decoder(arg) for arg in args]
    return lambda value: tuple(decode(v) for decode, v in zip(items, _sequence(value), strict=True))


def _plain(value: Any) -> Any:
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CodecError(f"expected a number, got {value!r}")
    return float(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CodecError(f"expected an object, got {type(value).__name__}")
    return value


def _sequence(value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise CodecError(f"expected a list, got {type(value).__name__}")
    return list(value)


# --- actions -----------------------------------------------------------------------------------


def action_to_json(action: Action) -> dict[str, Any]:
    """``{"kind", "target", "params"}`` with params as the ``Action`` holds them."""
    return {"kind": action.kind, "target": action.target, "params": dict(action.params)}


def action_from_json(data: Mapping[str, Any]) -> Action:
    """Shape check only (kind a string, target a string or null, params flat scalars).

    Whether the action makes sense (known kind and provider, valid durations) is for
    ``battletui.scenario.parse_action``, which knows the session's providers.
    """
    if not isinstance(data, Mapping):
        raise CodecError(f"an action is a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if not isinstance(kind, str) or not kind:
        raise CodecError(f"kind: expected an action name, got {kind!r}")
    target = data.get("target")
    if target is not None and not isinstance(target, str):
        raise CodecError(f"target: expected a provider id or null, got {target!r}")
    params = data.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise CodecError(f"params: expected an object, got {type(params).__name__}")
    for key, value in params.items():
        if not isinstance(value, str | int | float):  # bool is an int
            raise CodecError(f"params.{key}: expected a string, number or boolean, got {value!r}")
    return Action(kind, target, dict(params))
