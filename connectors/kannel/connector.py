"""SMS through Kannel: MO from its get-url/post-url, replies through sendsms, DLRs back.

Kannel (bearerbox + smsbox) holds the link to the operator (SMPP, or an HTTP aggregator); this
connector only speaks HTTP with smsbox, all on a trusted network (loopback by default):

- ``/webhooks/sms/mo``: an ``sms-service`` with ``max-messages = 0`` calls it for every SMS. The
  answer body is empty: with ``max-messages = 0`` smsbox sends nothing back from it, and the
  reply leaves later through the outbox and sendsms.
- ``/webhooks/sms/dlr``: the ``dlr-url`` given with each sendsms call, carrying our outbox id.

Both are refused (403) unless the caller's address is allowed and the query's ``secret`` matches.
The set-up, step by step: docs/channels/sms.md.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import httpx

from bot.contract import (
    ConfigError,
    Connector,
    Delivery,
    Event,
    Inbound,
    NotConfigured,
    Rejected,
    Rendered,
    SendError,
    SendFailure,
    WebRequest,
    same_secret,
    stored_int,
)
from connectors.kannel.protocol import (
    DEFAULT_DLR_MASK,
    DLR_MASK_ALL,
    check_sendable,
    delivery_status,
    message_id,
    normalise_phone,
    sendsms_error,
    text_from_body,
    text_from_query,
)

logger = logging.getLogger(__name__)

DEFAULT_SENDSMS_URL = "http://127.0.0.1:13013/cgi-bin/sendsms"  # smsbox's usual sendsms-port
DEFAULT_ALLOWED_IPS = ("127.0.0.1", "::1")
DEFAULT_TIMEOUT_SECONDS = 10.0  # smsbox answers sendsms in milliseconds once it has the message
REQUIRED = ("username", "password", "shared_secret")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(value: str | Iterable[str]) -> tuple[IpNetwork, ...]:
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v) for v in value]
    try:
        networks = tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items)
    except ValueError as exc:
        raise ValueError(f"allowed_ips: {exc}") from exc
    if not networks:
        raise ValueError("allowed_ips is empty: no Kannel could reach the webhook")
    return networks


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} must be an http(s) URL, got {value!r}")
    return value


def _given(value: Any, default: float) -> Any:
    """The value unless it is absent or an empty string (``${KANNEL_DLR_MASK:-}``); 0 is a value."""
    return default if value is None or (isinstance(value, str) and not value.strip()) else value


class KannelConnector(Connector):
    channel = "sms"
    endpoints = ("mo", "dlr")

    def __init__(self, *, username: str, password: str, shared_secret: str,
                 sendsms_url: str = DEFAULT_SENDSMS_URL, public_url: str = "",
                 allowed_ips: str | Iterable[str] = DEFAULT_ALLOWED_IPS, sender: str = "",
                 dlr_mask: int = DEFAULT_DLR_MASK, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        """Raises ``ValueError`` for a value that cannot work (the message names the setting)."""
        if not 0 <= dlr_mask <= DLR_MASK_ALL:
            raise ValueError(f"dlr_mask must be between 0 and {DLR_MASK_ALL}, got {dlr_mask}")
        self.username = username
        self.password = password
        self.shared_secret = shared_secret
        self.sendsms_url = _http_url("sendsms_url", sendsms_url)
        # How Kannel reaches this server, for the dlr-url; without it no delivery report is asked.
        self.public_url = _http_url("public_url", public_url).rstrip("/") if public_url else ""
        self.allowed = _networks(allowed_ips)
        self.sender = sender
        self.dlr_mask = dlr_mask
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> KannelConnector:
        values = {key: "" if value is None else value for key, value in (credentials or {}).items()}
        missing = [key for key in REQUIRED if not str(values.get(key, "")).strip()]
        if missing:
            raise NotConfigured(f"{', '.join(missing)} empty")
        try:
            return cls(
                username=str(values["username"]), password=str(values["password"]),
                shared_secret=str(values["shared_secret"]),
                sendsms_url=str(values.get("sendsms_url") or DEFAULT_SENDSMS_URL),
                public_url=str(values.get("public_url") or ""),
                allowed_ips=values.get("allowed_ips") or DEFAULT_ALLOWED_IPS,
                sender=str(values.get("sender") or ""),
                dlr_mask=int(_given(values.get("dlr_mask"), DEFAULT_DLR_MASK)),
                timeout=float(_given(values.get("timeout"), DEFAULT_TIMEOUT_SECONDS)))
        except ValueError as exc:
            raise ConfigError(f"connectors.kannel.KannelConnector: {exc}") from exc

    def secrets(self) -> tuple[str, ...]:
        """The password and the secret, also as they appear URL-encoded in logged request URLs
        (the secret is encoded twice inside the dlr-url parameter)."""
        in_dlr_url = quote(self.shared_secret, safe="")
        forms = {quote_plus(in_dlr_url), quote(in_dlr_url, safe="")}
        for secret in (self.password, self.shared_secret):
            forms |= {secret, quote(secret, safe=""), quote_plus(secret)}
        return tuple(sorted(form for form in forms if form))

    def _allowed_address(self, remote: str) -> bool:
        try:
            address = ipaddress.ip_address(remote)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allowed)

    def verify(self, request: WebRequest) -> None:
        if not self._allowed_address(request.remote):
            raise Rejected(403, "caller's address is not in allowed_ips")
        if not same_secret(request.query.get("secret"), self.shared_secret):
            raise Rejected(403, "wrong or missing secret")

    def parse(self, request: WebRequest) -> list[Event]:
        if request.endpoint == "dlr":
            return [self._delivery(request)]
        return [self._inbound(request)]

    def acknowledge(self, request: WebRequest) -> tuple[int, str, str]:
        """Empty: were an sms-service set with ``max-messages > 0``, a body would be sent as SMS."""
        return 200, "text/plain", ""

    def _inbound(self, request: WebRequest) -> Inbound:
        query = request.query
        if request.method == "POST":  # post-url: the text is the body, metadata in X-Kannel-*
            sender = request.header("x-kannel-from") or query.get("from")
            receiver = request.header("x-kannel-to") or query.get("to") or ""
            smsc = request.header("x-kannel-smsc") or query.get("smsc")
            kannel_time = query.get("ts") or request.header("x-kannel-time")
            text = text_from_body(request.body, request.header("content-type"))
        else:
            sender, receiver, smsc = query.get("from"), query.get("to") or "", query.get("smsc")
            kannel_time = query.get("ts")
            text = text_from_query(query.get("text") or "", query.get("coding"), query.get("charset"))
        if not sender or not sender.strip():
            raise Rejected(400, "missing sender (from=%p, or X-Kannel-From with send-sender = true)")
        if not text:
            raise Rejected(400, "missing text (text=%a)")
        phone = normalise_phone(sender)
        meta = {key: value for key, value in (("to", receiver), ("smsc", smsc)) if value}
        platform_id = message_id(query.get("id"), phone, receiver, kannel_time, text)
        return Inbound(self.channel, platform_id, phone, text, meta)

    def _delivery(self, request: WebRequest) -> Delivery:
        outbound_id = stored_int(request.query.get("id"), "outbound id")
        status = delivery_status(request.query.get("status"))
        if status in ("failed", "smsc_rejected"):
            logger.info("sms: outbound %s %s: %s", outbound_id, status,
                        (request.query.get("answer") or "no answer")[:160])
        return Delivery(outbound_id, status)

    def _dlr_url(self, outbound_id: object) -> str:
        secret = quote(self.shared_secret, safe="")
        return f"{self.public_url}/webhooks/sms/dlr?secret={secret}&id={outbound_id}&status=%d&answer=%A"

    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(self, recipient: str, message: Rendered, meta: Mapping[str, Any]) -> str | None:
        """One sendsms call. Kannel's answer carries no message id, so None is returned."""
        check_sendable(message.text)
        params = {"username": self.username, "password": self.password, "to": recipient,
                  "text": message.text, "coding": "0", "charset": "UTF-8"}
        sender = self.sender or meta.get("to")  # else Kannel's global-sender
        if sender:
            params["from"] = str(sender)
        outbound_id = meta.get("outbound_id")
        if self.public_url and self.dlr_mask and outbound_id is not None:
            params["dlr-mask"] = str(self.dlr_mask)
            params["dlr-url"] = self._dlr_url(outbound_id)
        await self.start()
        client = self._client
        if client is None:  # close() ran concurrently: the server is stopping
            raise SendError("connector closed", SendFailure.CONNECTION)
        try:
            answer = await client.get(self.sendsms_url, params=params)
        except httpx.TimeoutException as exc:
            raise SendError(f"sendsms timed out ({type(exc).__name__})", SendFailure.CONNECTION) from exc
        except httpx.TransportError as exc:
            raise SendError(f"sendsms unreachable ({type(exc).__name__})", SendFailure.CONNECTION) from exc
        error = sendsms_error(answer.status_code, answer.text)
        if error is not None:
            raise error
        return None
