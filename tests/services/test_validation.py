"""Text rules match Unicode's own categories, for every code point."""

from __future__ import annotations

import sys
from unicodedata import category

from booking.services.validation import one_line, storable


def test_control_characters_and_surrogates_are_exactly_unicodes():
    for code_point in range(sys.maxunicode + 1):
        c = chr(code_point)
        kind = category(c)
        assert storable(c) == (kind != "Cs" and (kind != "Cc" or c in "\n\r\t")), hex(code_point)
        assert one_line(c) == (kind not in ("Cc", "Cs")), hex(code_point)


def test_a_string_is_judged_by_its_worst_character():
    assert storable("Left knee\nsince May") and not one_line("Left knee\nsince May")
    assert not storable("Pat\x00") and not one_line("Pat\u0085")
    assert one_line("Zoë Ñúñez-O'Brien 李")
