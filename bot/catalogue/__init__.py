"""The procedure catalogue: the facts staff keep in ``procedures/*.yaml``.

``model`` holds what a procedure is once loaded; ``loading`` reads and validates the files and
reports each problem with the file, the line, the field and the fix, in Vietnamese; ``advice``
adds the warnings for what a valid file still gets wrong for citizens (old dates, unsourced
facts, FAQ phrased only with diacritics, fees and deadlines without figures, confusable aliases).

May import: ``bot.text``, ``bot.errors``, ``bot.nlu`` (the chat abbreviations, to catch an alias
the NLU would read as another word).
"""

from bot.catalogue.loading import (
    CatalogueError,
    CatalogueInvalid,
    check_catalogue,
    load_catalogue,
    load_file,
)
from bot.catalogue.model import (
    ASPECTS,
    DEADLINE_EVENTS,
    GROUPS,
    OFFICES,
    ONLINE_LEVELS,
    OTHER_GROUP,
    Catalogue,
    DeadlineCount,
    Document,
    Fact,
    Faq,
    NotCovered,
    Option,
    Procedure,
    Question,
    Source,
    Sourcing,
)

__all__ = ["ASPECTS", "DEADLINE_EVENTS", "GROUPS", "OFFICES", "ONLINE_LEVELS", "OTHER_GROUP", "Catalogue",
           "CatalogueError", "CatalogueInvalid", "DeadlineCount", "Document", "Fact", "Faq", "NotCovered",
           "Option", "Procedure", "Question",
           "Source", "Sourcing", "check_catalogue", "load_catalogue", "load_file"]
