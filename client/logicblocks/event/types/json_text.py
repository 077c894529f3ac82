"""JSON text of values holding integers of any length.

Python refuses to turn an integer of more than ``sys.get_int_max_str_digits()`` digits
(4,300 by default) into text, so ``json.dumps`` fails on one; payloads may hold them and
must come back exactly. ``dumps`` writes every digit.
"""

import json
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["dumps"]


def dumps(value: Any, **options: Any) -> str:
    """``json.dumps(value, **options)``, writing every digit of integers of any length.

    Only when ``json.dumps`` refuses a value does each long integer go through it as a
    unique placeholder string, replaced afterwards by its digits (from ``decimal``, which
    has no digit limit); a value refused for another reason is refused again.
    """
    try:
        return json.dumps(value, **options)
    except ValueError:
        pass
    marker = uuid.uuid4().hex
    digits: list[str] = []

    def swap(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {key: swap(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [swap(inner) for inner in item]
        if isinstance(item, int) and not isinstance(item, bool):
            try:
                repr(int(item))
            except ValueError:
                digits.append(str(Decimal(int(item))))
                return f"{marker}{len(digits) - 1}"
        return item

    text = json.dumps(swap(value), **options)
    return re.sub(rf'"{marker}(\d+)"', lambda found: digits[int(found.group(1))], text)
