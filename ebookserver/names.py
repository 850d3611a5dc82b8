"""Names people read for codes the catalogue stores: DDC main classes, languages, copy statuses."""

from __future__ import annotations

from catalog.i18n import N_

DDC_CLASSES = {
    "0": N_("General works, computers and information"),
    "1": N_("Philosophy and psychology"),
    "2": N_("Religion"),
    "3": N_("Social sciences"),
    "4": N_("Language"),
    "5": N_("Science and mathematics"),
    "6": N_("Technology and applied sciences"),
    "7": N_("Arts and recreation"),
    "8": N_("Literature"),
    "9": N_("History and geography"),
}

LANGUAGES = {
    "id": N_("Indonesian"),
    "en": N_("English"),
    "jv": N_("Javanese"),
    "su": N_("Sundanese"),
    "ms": N_("Malay"),
    "ar": N_("Arabic"),
    "he": N_("Hebrew"),
    "ja": N_("Japanese"),
    "zh": N_("Chinese"),
    "fr": N_("French"),
    "de": N_("German"),
    "nl": N_("Dutch"),
}

FORMATS = {"epub": "EPUB", "pdf": "PDF"}

# What the shelf says about a printed copy (catalog.records.ITEM_STATUSES).
ITEM_STATUSES = {
    "available": N_("On the shelf"),
    "on-loan": N_("On loan"),
    "reference": N_("Read in the library only"),
    "in-repair": N_("Being repaired"),
    "lost": N_("Lost"),
    "withdrawn": N_("Withdrawn"),
}
