"""What the assistant says: replies built from the catalogue and the fixed phrases.

``answers`` builds channel-neutral replies for a procedure's aspects, FAQ and guide; ``directions``
names the office for an address; ``phrases`` reads ``flows/phrases.yml``; ``dates`` reads dates as
typed; ``reminding`` offers, confirms, lists and cancels deadline reminders; ``actions`` are the
Rasa custom actions that read the tracker and call them.

May import: ``bot.catalogue``, ``bot.address``, ``bot.nlu``, ``bot.contract`` (replies),
``bot.text``, ``bot.project``, ``bot.errors``.
"""
