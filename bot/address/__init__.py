"""Address understanding for the 2025 reorganisation: old or new addresses -> current units.

See docs/address.md. Pure Python, channel-neutral; the heavy library import happens in
``AddressBook.load()``.
"""

from bot.address.book import AddressBook
from bot.address.model import PROVINCE_KIND, SPLIT_KIND, UNKNOWN_KIND, WARD_KIND, Resolution, Unit

__all__ = ["AddressBook", "Resolution", "Unit", "WARD_KIND", "SPLIT_KIND", "PROVINCE_KIND", "UNKNOWN_KIND"]
