"""Mobile numbers (MSISDN): 11 digits with the country code, e.g. 79161234567.

Input in any usual form is accepted: `+7 (916) 123-45-67`, `8 916 123 45 67`, `9161234567`.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s()\-.]")


def normalize_msisdn(raw: str) -> str | None:
    """The 11-digit MSISDN, or None when `raw` is not a Russian mobile number."""
    text = _SEPARATORS.sub("", raw.strip())
    if text.startswith("+"):
        text = text[1:]
        if not text.startswith("7"):
            return None
    if not (text.isascii() and text.isdigit()):  # str.isdigit() also takes "７", "²", "٧"
        return None
    if len(text) == 10 and text.startswith("9"):
        text = "7" + text
    elif len(text) == 11 and text.startswith("8"):
        text = "7" + text[1:]
    if len(text) != 11 or not text.startswith("79"):
        return None
    return text
