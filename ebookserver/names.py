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

# How a patron gets a book (the search facet `availability`).
AVAILABILITY = {
    "open": N_("Free to read"),
    "licensed": N_("Borrow to read"),
    "in-library": N_("Read in the library"),
    "print": N_("Printed book only"),
}

# What the shelf says about a printed copy (catalog.records.ITEM_STATUSES).
ITEM_STATUSES = {
    "available": N_("On the shelf"),
    "on-loan": N_("On loan"),
    "reference": N_("Read in the library only"),
    "in-repair": N_("Being repaired"),
    "lost": N_("Lost"),
    "withdrawn": N_("Withdrawn"),
}

# What the audit log's action codes mean.
AUDIT_ACTIONS = {
    "setup": N_("Set up the library"),
    "user.add": N_("Added an account"),
    "user.activate": N_("Switched an account on"),
    "user.deactivate": N_("Switched an account off"),
    "user.password": N_("Changed a password"),
    "user.locked": N_("Account locked after wrong passwords"),
    "library.edit": N_("Changed the library's details"),
    "record.upload": N_("Uploaded an e-book"),
    "record.edit": N_("Edited a record"),
    "record.licence": N_("Changed a licence"),
    "record.cover": N_("Replaced a cover"),
    "record.withdraw": N_("Withdrew a title"),
    "record.restore": N_("Put a withdrawn title back"),
    "record.delete": N_("Deleted a record"),
    "catalogue.import_folder": N_("Imported a folder"),
    "event.add": N_("Added an event"),
    "event.edit": N_("Changed an event"),
    "event.delete": N_("Deleted an event"),
    "print.import": N_("Imported printed books from a MARC or CSV file"),
    "print.book.add": N_("Added a printed book"),
    "print.copy.add": N_("Added a printed copy"),
    "print.copy.edit": N_("Changed a printed copy"),
    "print.copy.delete": N_("Removed a printed copy"),
    "kiosk.edit": N_("Changed what the TV shows"),
    "member.add": N_("Registered a member"),
    "member.edit": N_("Changed a member"),
    "member.pin": N_("Set a member's PIN"),
    "member.block": N_("Blocked a member"),
    "member.unblock": N_("Unblocked a member"),
    "member.delete": N_("Deleted a member"),
    "loan.out": N_("Lent a printed copy"),
    "loan.in": N_("Took back a printed copy"),
    "loan.renew": N_("Renewed a loan"),
}
