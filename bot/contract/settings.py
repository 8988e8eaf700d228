"""Connector settings: declared once per connector, read the same way for every channel.

A connector declares its ``credentials.yml`` entry as a ``Settings`` subclass: one field per
setting, with its type, its default (a named constant) and, as ``Field(description=...)``, what it
expects in words. ``parse_settings`` reads an entry into it, with one rule for all channels:

- a blank value (absent, ``null``, or only spaces, as ``${UNSET_VARIABLE}`` expands) is not given:
  the default applies, and a required setting is missing. Strings are stripped.
- a required setting missing: ``NotConfigured`` naming it; the channel stays off.
- anything else that does not validate (a malformed value, an unknown key, so that a typo is not
  silently ignored): ``ConfigError`` naming the setting and saying what it expects. Such an error
  wins over a missing setting: the entry is wrong whether or not the channel is on.

``load_connectors`` adds the file and the entry's dotted name in front of either message.

Messages are built from the error's location and type and the field's description, never from the
value given (pydantic's own messages may quote it), so no secret can reach a message or a log.
Validators of a ``Settings`` class keep the same rule: their ``ValueError`` text is shown as it is,
so it must not contain the value. Secrets are ``SecretStr`` fields: ``repr`` shows none either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, Extra, ValidationError

from bot.contract.errors import ConfigError, NotConfigured

__all__ = ["HttpUrl", "Settings", "parse_settings"]


class Settings(BaseModel):
    """Base of a connector's settings: unknown keys refused, read-only once parsed."""

    class Config:
        extra = Extra.forbid
        allow_mutation = False
        anystr_strip_whitespace = True
        validate_all = True  # the defaults too, so that a settings object holds parsed values only


class HttpUrl(str):
    """An ``http://`` or ``https://`` URL with a host, kept exactly as written."""

    @classmethod
    def __get_validators__(cls) -> Iterator[Callable[[Any], str]]:
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError("not text")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("not an http(s) URL with a host")
        return value


S = TypeVar("S", bound=Settings)

# What each pydantic error type means, in our words; only the schema's limits are filled in.
_REASONS = {
    "type_error.integer": "not a whole number",
    "type_error.float": "not a number",
    "type_error.number": "not a number",
    "type_error.bool": "not true or false",
    "type_error.str": "not text",
    "type_error.path": "not a file path",
    "type_error.list": "not a list",
    "type_error.tuple": "not a list",
    "type_error.sequence": "not a list",
    "value_error.number.not_gt": "must be more than {limit_value}",
    "value_error.number.not_ge": "must be at least {limit_value}",
    "value_error.number.not_lt": "must be less than {limit_value}",
    "value_error.number.not_le": "must be at most {limit_value}",
    "value_error.any_str.min_length": "shorter than {limit_value} characters",
    "value_error.any_str.max_length": "longer than {limit_value} characters",
    "value_error.str.regex": "has characters that are not allowed",
}
# Raised by the validators of a ``Settings`` class (whose texts never hold the value).
_OWN = frozenset({"value_error", "type_error", "assertion_error"})
_MISSING = "value_error.missing"
_EXTRA = "value_error.extra"


def parse_settings(model: type[S], credentials: Mapping[str, Any] | None) -> S:
    """A ``credentials.yml`` entry read into ``model``.

    Raises:
        NotConfigured: a required setting is missing or blank (the message names each one).
        ConfigError: a value or key cannot be used (the message names each setting and says what
            it expects, without the value).
    """
    given = {str(key): _stripped(value) for key, value in (credentials or {}).items()}
    try:
        return model.parse_obj({key: value for key, value in given.items() if not _blank(value)})
    except ValidationError as exc:
        # Not chained: pydantic's own text may quote the values, and a traceback would show it.
        raise _failure(model, exc.errors()) from None


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _failure(model: type[Settings], errors: list[dict[str, Any]]) -> ConfigError | NotConfigured:
    wrong = [error for error in errors if error["type"] != _MISSING]
    if wrong:
        return ConfigError("; ".join(_wrong(model, error) for error in wrong))
    return NotConfigured("; ".join(_missing(model, str(error["loc"][0])) for error in errors))


def _missing(model: type[Settings], name: str) -> str:
    description = model.__fields__[name].field_info.description
    return f"{name} is empty" + (f" ({description})" if description else "")


def _wrong(model: type[Settings], error: dict[str, Any]) -> str:
    name = ".".join(str(part) for part in error["loc"])
    field = model.__fields__.get(str(error["loc"][0]))
    kind = error["type"]
    if kind == _EXTRA:
        return f"{name}: unknown setting, expected one of {', '.join(model.__fields__)}"
    if kind in _OWN:
        reason = str(error["msg"])
    elif kind in _REASONS:
        reason = _REASONS[kind].format(**error.get("ctx", {}))
    else:
        reason = "not a valid value"
    description = field.field_info.description if field is not None else None
    return f"{name}: {reason}" + (f", expected {description}" if description else "")
