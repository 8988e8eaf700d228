"""Zalo Official Account channel (docs/channels/zalo.md)."""

from connectors.zalo.connector import ZaloConnector

__all__ = ["ZaloConnector"]
