"""The contract between the channels and the rest of the assistant.

Connectors (``connectors/``) import this package and nothing else of ``bot``; the serving layer
implements its other side. It holds the connector interface and the web request it reads
(``connector``), the settings it declares (``settings``), the replies it sends (``reply``), the
failures it reports (``errors``), the platforms' limits (``limits``), the log and storage redaction
every connector applies (``redact``) and the cleaning of every citizen's text (``cleaning``);
``rasa_channels`` gives it Rasa's channel interface without Rasa's built-in channels.

May import: ``bot.errors`` and third-party libraries only.
"""

from bot.contract.cleaning import clean
from bot.contract.errors import (
    ConfigError,
    Ignored,
    NotConfigured,
    Rejected,
    SendError,
    SendFailure,
)
from bot.contract.limits import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SMS_MAX_PARTS,
    SMS_MORE_KEYWORD,
    SMS_PART_SEPTETS,
    SMS_SINGLE_SEPTETS,
    TELEGRAM_MAX_CALLBACK_BYTES,
    TELEGRAM_MAX_TEXT,
    ZALO_MAX_BUTTONS,
    ZALO_MAX_TEXT,
    fits_callback_data,
    is_gsm7,
    septets,
    sms_parts,
)
from bot.contract.reply import Button, Rendered, Reply, Topic
from bot.contract.settings import HttpUrl, Settings, parse_settings

__all__ = [
    "Button", "ConfigError", "Connector", "DEDUP_WINDOW_SECONDS", "DEFAULT_MAX_BODY_BYTES", "Delivery",
    "Event", "GSM7_BASIC", "GSM7_EXTENSION", "HttpUrl", "Ignored", "Inbound", "MAX_JSON_DEPTH",
    "MAX_STORED_INT", "NotConfigured", "REPLY_TO_META", "Rejected", "Rendered", "Reply", "SMS_MAX_PARTS",
    "SMS_MORE_KEYWORD", "SMS_PART_SEPTETS", "SMS_SINGLE_SEPTETS", "SendError", "SendFailure",
    "Settings", "StaffMessage", "TELEGRAM_MAX_CALLBACK_BYTES", "TELEGRAM_MAX_TEXT", "Topic", "WebRequest",
    "ZALO_MAX_BUTTONS", "ZALO_MAX_TEXT", "clean", "encodable", "fits_callback_data", "is_gsm7", "json_depth",
    "parse_settings", "same_secret", "septets", "sms_parts", "stored_int"
]

# The connector interface subclasses Rasa's ``InputChannel``, whose import loads Rasa's channel
# stack (seconds): it is imported when one of its names is first read, so that the settings and
# the errors can be checked before (``bot serve`` stops on a malformed setting at once).
_CONNECTOR_NAMES = frozenset({
    "DEDUP_WINDOW_SECONDS",
    "DEFAULT_MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_STORED_INT",
    "REPLY_TO_META",
    "Connector",
    "Delivery",
    "Event",
    "Inbound",
    "StaffMessage",
    "WebRequest",
    "encodable",
    "json_depth",
    "same_secret",
    "stored_int",
})


def __getattr__(name: str) -> object:
    if name in _CONNECTOR_NAMES:
        from bot.contract import connector

        return getattr(connector, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
