"""Marking user-facing text in the domain library for translation.

`catalog/` never translates by itself: it marks English message ids with `N_` so that
Babel's extractor finds them, and the presentation layer (the web app or the command
line) translates them into the user's language.
"""


def N_(message: str) -> str:
    """Mark *message* for extraction without translating it."""
    return message
