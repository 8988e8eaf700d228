"""Address understanding for the 2025 reorganisation: old or new addresses -> current units.

See docs/address.md. Pure Python, channel-neutral; the heavy library import happens in
``AddressBook.load()``, or when the shared book first reads an address and finds no gazetteer kept
by ``bot.cache`` (which it may import, with ``bot.text``).
"""

from bot.address.book import AddressBook
from bot.address.model import PROVINCE_KIND, SPLIT_KIND, UNKNOWN_KIND, WARD_KIND, Resolution, Unit

__all__ = ["AddressBook", "Resolution", "Unit", "WARD_KIND", "SPLIT_KIND", "PROVINCE_KIND", "UNKNOWN_KIND"]
