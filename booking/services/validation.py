"""Shape rules shared by every edge that takes text from people (API and forms)."""

from __future__ import annotations

import re
from unicodedata import category

PHONE = re.compile(r"\+?[0-9 ().\-]{7,30}(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?", re.IGNORECASE)


def storable(text: str) -> bool:
    """Return whether text is free of NUL, other control characters and lone surrogates."""
    return not any((category(c) == "Cc" and c not in "\n\r\t") or category(c) == "Cs" for c in text)
