"""Telegram Bot API channel (python-telegram-bot behind our own webhook route)."""

from connectors.telegram.connector import TelegramConnector

__all__ = ["TelegramConnector"]
