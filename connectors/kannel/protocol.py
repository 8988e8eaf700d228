"""Kannel's HTTP protocol without I/O: phone numbers, MO text, delivery reports, sendsms answers.

Facts: Kannel's user guide (Debian ``kannel-docs`` 1.4.5), restated with their sources in
docs/channels/sms.md ("Protocol facts and their sources"). "Observed" marks what Debian's
Kannel 1.4.5 did with ``fakesmsc`` while this connector was written (the DLR requests are
recorded in ``tests/connectors/kannel/testdata/``).
"""

from __future__ import annotations

import codecs
import hashlib
import re
import uuid

from bot.contract import (
    SMS_MAX_PARTS,
    SMS_PART_SEPTETS,
    Rejected,
    SendError,
    SendFailure,
    is_gsm7,
    septets,
    stored_int,
)

VN_COUNTRY_CODE = "84"
# Vietnamese numbers written nationally: 0 + 9 digits (mobile, since 2018) or 0 + 10 (landline).
VN_NATIONAL_LENGTHS = (10, 11)

# sms-service escape %c: 0 GSM 7-bit, 1 8-bit, 2 UCS-2 (user guide, "sms-service configurations").
CODING_UCS2 = "2"
UTF16_CHARSETS = frozenset({"UTF-16BE", "UTF-16", "UCS-2", "UCS-2BE", "ISO-10646-UCS-2"})

# dlr-mask bits and the %d values of a delivery report (user guide, chapter "Delivery reports").
DLR_STATUS = {
    1: "delivered",
    2: "failed",
    4: "buffered",
    8: "smsc_accepted",
    16: "smsc_rejected",
}
DLR_MASK_ALL = sum(DLR_STATUS)  # 31
# 8 (SMSC accepted) is left out by default: for a concatenated reply Kannel was observed sending
# status 1 before status 8, so the "accepted" report would overwrite "delivered" in the outbox row.
DEFAULT_DLR_MASK = DLR_MASK_ALL & ~8  # 23: delivered, failed, buffered, SMSC rejected

# Render's budget for one SMS reply: 3 concatenated GSM-7 parts (bot/render.py). Kannel cuts a
# longer text silently to its sendsms-user max-messages (observed: 1,000 characters became 765).
MAX_SEPTETS = SMS_MAX_PARTS * SMS_PART_SEPTETS

# sendsms answers (docs/channels/sms.md): 202 "0: Accepted for delivery" or "3: Queued for later
# delivery"; 503 asks to retry; 403 is a wrong sendsms-user password or a denied number.

_SEPARATORS = re.compile(r"[\s().-]")


def normalise_phone(number: str) -> str:
    """One form per handset, so a conversation does not split by how the SMSC wrote the number.

    ``+84912345678``, ``0084912345678``, ``84912345678`` and ``0912345678`` all become
    ``84912345678``; other international numbers lose their ``+``/``00``; short codes (``8088``)
    and alphanumeric senders are kept as they are.
    """
    compact = _SEPARATORS.sub("", number)
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    elif compact.startswith("0") and len(compact) in VN_NATIONAL_LENGTHS:
        digits = VN_COUNTRY_CODE + compact[1:]
    else:
        digits = compact
    return digits if digits.isdigit() else number.strip()


def _checked(text: str) -> str:
    """The text if it was decoded: no replacement characters. Control and invisible characters
    are the contract's to drop, as on every channel (``Connector.handle``)."""
    if "\ufffd" in text:
        raise Rejected(400, "text cannot be decoded in its declared charset "
                            "(set mo-recode = true in Kannel's smsbox group)")
    return text.strip()


def _is_utf16(charset: str | None) -> bool:
    return (charset or "").strip().strip('"').upper() in UTF16_CHARSETS


def text_from_query(text: str, coding: str | None, charset: str | None) -> str:
    """The MO text of a get-url request (``text=%a``), as the web framework decoded it.

    Sanic decodes query values as UTF-8 and replaces invalid bytes with U+FFFD. With
    ``mo-recode = true`` Kannel sends UCS-2 messages as UTF-8 with ``coding=0`` (observed);
    without it the raw UTF-16BE bytes arrive with ``coding=2``: they are recovered when every
    byte survived the UTF-8 decoding, else the request is refused (400).
    """
    if coding == CODING_UCS2 and _is_utf16(charset):
        if "\ufffd" in text:
            raise Rejected(400, "UCS-2 text cannot be decoded "
                                "(set mo-recode = true in Kannel's smsbox group)")
        try:
            text = text.encode("utf-8").decode("utf-16-be")
        except UnicodeDecodeError as exc:
            raise Rejected(400, "UCS-2 text has an odd number of bytes") from exc
    return _checked(text)


def text_from_body(body: bytes, content_type: str | None) -> str:
    """The MO text of a post-url request: the body, in the charset its Content-Type declares.

    Kannel quotes the charset (``text/plain; charset="UTF-16BE"``, observed).
    """
    charset = "UTF-8"
    for parameter in (content_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    codec = "utf-16-be" if _is_utf16(charset) else charset
    try:
        codecs.lookup(codec)
    except LookupError as exc:
        raise Rejected(400, f"unknown charset {charset[:40]!r}") from exc
    try:
        return _checked(body.decode(codec))
    except UnicodeDecodeError as exc:
        raise Rejected(400, f"text is not valid {charset[:40]}") from exc


def message_id(kannel_id: str | None, sender: str, receiver: str, time: str | None, text: str) -> str:
    """The id inbound messages are deduplicated on.

    Kannel's ``%I`` (a UUID, observed) stays the same when smsbox retries a get-url request
    (``http-request-retry``, observed), so a retried request is recognised. Without it, a hash of
    sender, receiver, Kannel's time ``%T`` and text is as stable across retries. Without a time
    either, two identical texts (``THEM`` twice) could not be told from one retried request:
    each request then gets a fresh id, answering a retry twice rather than dropping a question.
    """
    if kannel_id:
        return kannel_id
    if time:
        digest = hashlib.sha256("\n".join((sender, receiver, time, text)).encode("utf-8")).hexdigest()
        return f"sha256:{digest[:40]}"
    return f"uuid:{uuid.uuid4().hex}"


def delivery_status(value: str | None) -> str:
    """The word for a DLR's ``%d``; 400 for anything Kannel does not send."""
    try:
        return DLR_STATUS[stored_int(value, "delivery status")]
    except (Rejected, KeyError) as exc:
        raise Rejected(400, "unknown delivery status") from exc


def check_sendable(text: str) -> None:
    """Refuses (for good) a text Kannel would mangle: non-GSM-7 characters or over 3 parts."""
    if not is_gsm7(text):
        raise SendError("text has characters outside GSM-7; render(reply, 'sms') removes them",
                        SendFailure.REJECTED)
    if septets(text) > MAX_SEPTETS:
        raise SendError(f"text is {septets(text)} septets, over {MAX_SEPTETS}; Kannel would cut it",
                        SendFailure.REJECTED)


def sendsms_error(status: int, body: str) -> SendError | None:
    """None when sendsms accepted the message (2xx), else the error saying whether to retry."""
    if 200 <= status < 300:
        return None
    reason = f"sendsms answered {status} {body.strip()[:120]!r}"
    if status >= 500:
        return SendError(reason, SendFailure.SERVER)
    if status == 429:
        return SendError(reason, SendFailure.THROTTLED)
    if status == 408:
        return SendError(reason, SendFailure.CONNECTION)
    if "authorization failed" in body.lower():
        return SendError(reason, SendFailure.AUTH)
    return SendError(reason, SendFailure.REJECTED)
