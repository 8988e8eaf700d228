"""The Kannel entry of ``credentials.yml``: read by ``bot.contract.parse_settings``.

The set-up, and what each setting means: docs/channels/sms.md.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from pydantic import Field, SecretStr, validator

from bot.contract import HttpUrl, Settings
from connectors.kannel.protocol import DEFAULT_DLR_MASK, DLR_MASK_ALL

DEFAULT_SENDSMS_URL = "http://127.0.0.1:13013/cgi-bin/sendsms"  # smsbox's usual sendsms-port
DEFAULT_ALLOWED_IPS = ("127.0.0.1", "::1")
DEFAULT_SENDER = ""  # the number the citizen wrote to, else Kannel's global-sender
DEFAULT_TIMEOUT_SECONDS = 10.0  # smsbox answers sendsms in milliseconds once it has the message

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(value: str | Iterable[Any]) -> tuple[IpNetwork, ...]:
    """Addresses or networks, as a list or one string separated by commas or spaces.

    Raises ``ValueError`` saying which item is wrong by its position, never by its value.
    """
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v).strip() for v in value]
    found = []
    for position, item in enumerate(items, start=1):
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"item {position} is not an IP address or network") from None
    if not found:
        raise ValueError("no address: no Kannel could reach the webhook")
    return tuple(found)


class KannelSettings(Settings):
    sendsms_url: HttpUrl = Field(DEFAULT_SENDSMS_URL, description="smsbox's sendsms, an http(s) URL")
    username: str = Field(..., description="the sendsms-user's username")
    password: SecretStr = Field(..., description="the sendsms-user's password")
    shared_secret: SecretStr = Field(..., description="the secret= in get-url and in every dlr-url")
    allowed_ips: tuple[IpNetwork, ...] = Field(
        DEFAULT_ALLOWED_IPS, description="IP addresses or networks (10.0.0.0/24) allowed to call the "
                                         "webhooks, separated by commas or spaces")
    # Absent: no delivery report is asked.
    public_url: HttpUrl | None = Field(None, description="how Kannel reaches the bot, an http(s) URL")
    sender: str = Field(DEFAULT_SENDER, description="the from of replies")
    dlr_mask: int = Field(DEFAULT_DLR_MASK, ge=0, le=DLR_MASK_ALL,
                          description=f"a whole number between 0 and {DLR_MASK_ALL} (docs/channels/sms.md)")
    timeout: float = Field(DEFAULT_TIMEOUT_SECONDS, gt=0, description="a number of seconds, more than 0")

    @validator("allowed_ips", pre=True)
    def _parsed(cls, value: Any) -> tuple[IpNetwork, ...]:
        if not isinstance(value, str | list | tuple):
            raise TypeError("not a list of addresses")
        return networks(value)
