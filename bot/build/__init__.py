"""From the catalogue to a model: ``generate`` writes Rasa's training data and domain,
``training`` trains (only from a valid catalogue), ``evaluate`` scores held-out messages.

May import: ``bot.dialogue`` (intent names), ``bot.catalogue``, ``bot.nlu`` and the layers below.
"""
