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
from urllib.parse import quote, quote_plus

import httpx

from bot.contract import (
    Connector,
    Delivery,
    Event,
    Inbound,
    Rejected,
    Rendered,
    SendError,
    SendFailure,
    WebRequest,
    parse_settings,
    same_secret,
    stored_int,
)
from connectors.kannel.protocol import (
    DEFAULT_DLR_MASK,
    check_sendable,
    delivery_status,
    message_id,
    normalise_phone,
    sendsms_error,
    text_from_body,
    text_from_query,
)
from connectors.kannel.settings import (
    DEFAULT_ALLOWED_IPS,
    DEFAULT_SENDER,
    DEFAULT_SENDSMS_URL,
    DEFAULT_TIMEOUT_SECONDS,
    KannelSettings,
    networks,
)

logger = logging.getLogger(__name__)

class KannelConnector(Connector):
    channel = "sms"
    endpoints = ("mo", "dlr")

    def __init__(self, *, username: str, password: str, shared_secret: str,
                 sendsms_url: str = DEFAULT_SENDSMS_URL, public_url: str = "",
                 allowed_ips: str | Iterable[Any] = DEFAULT_ALLOWED_IPS, sender: str = DEFAULT_SENDER,
                 dlr_mask: int = DEFAULT_DLR_MASK, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        """The values as ``KannelSettings`` checks them; ``allowed_ips`` may be one string."""
        self.username = username
        self.password = password
        self.shared_secret = shared_secret
        self.sendsms_url = sendsms_url
        # How Kannel reaches this server, for the dlr-url; without it no delivery report is asked.
        self.public_url = public_url.rstrip("/")
        self.allowed = networks(allowed_ips)
        self.sender = sender
        self.dlr_mask = dlr_mask
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> KannelConnector:
        """Reads a ``credentials.yml`` entry (``KannelSettings``); raises ``NotConfigured`` or
        ``ConfigError`` as ``bot.contract.parse_settings`` does."""
        settings = parse_settings(KannelSettings, credentials)
        return cls(username=settings.username, password=settings.password.get_secret_value(),
                   shared_secret=settings.shared_secret.get_secret_value(),
                   sendsms_url=settings.sendsms_url, public_url=settings.public_url or "",
                   allowed_ips=settings.allowed_ips, sender=settings.sender,
                   dlr_mask=settings.dlr_mask, timeout=settings.timeout)

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
