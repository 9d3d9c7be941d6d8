"""schemathesis hooks of the conformance step (loaded through SCHEMATHESIS_HOOKS).

The OpenAPI document states every rule the broker checks; a few of them are
stated in prose because JSON Schema cannot say them: the 11-proef checksum
of a student number, that the second year of a school year follows the
first, and that an audit search's `until` lies after its `from`. Generated
values that have the documented shape but break such a rule
would be refused (422), and schemathesis would count that as the broker
refusing a valid request. This hook completes such values the way a vendor's
client would after reading the description: it changes only values that
already match their schema's pattern, and only into values that still match
it, so a case that breaks the schema (negative testing) stays broken, and
every other field and check is untouched.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import schemathesis

WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)
# The remainder of the weighted sum that each kind of student number needs,
# and the pattern its digits have in the document.
KINDS = {
    "bsn": (0, re.compile(r"^[0-9]{9}$")),
    "onderwijsnummer": (5, re.compile(r"^10[0-9]{7}$")),
}
SCHOOL_YEAR = re.compile(r"^([0-9]{4})-[0-9]{4}$")


def eleven_proof(digits: str, remainder: int) -> str:
    """`digits` with the fewest last digits changed so that it passes the
    11-proef with `remainder` (and, for a BSN, is not all zeros)."""
    numbers = [int(d) for d in digits]
    if remainder == 0 and not any(numbers[:8]):
        numbers[7] = 1
    # The check digit d9 counts with weight -1: d9 ≡ sum(d1..d8) − r (mod 11).
    # When that is 10 no digit fits; then the eighth digit moves on by one.
    for _ in range(10):
        partial = sum(w * d for w, d in zip(WEIGHTS[:8], numbers[:8]))
        check = (partial - remainder) % 11
        if check < 10:
            numbers[8] = check
            return "".join(map(str, numbers))
        numbers[7] = (numbers[7] + 1) % 10
    return digits


def complete(value: Any) -> Any:
    if isinstance(value, dict):
        kind = value.get("type")
        number = value.get("number")
        if isinstance(kind, str) and kind in KINDS and isinstance(number, str) and set(value) == {"type", "number"}:
            remainder, pattern = KINDS[kind]
            if pattern.match(number):
                value["number"] = eleven_proof(number, remainder)
        school_year = value.get("school_year")
        if isinstance(school_year, str):
            found = SCHOOL_YEAR.match(school_year)
            if found and int(found.group(1)) < 9999:
                first = int(found.group(1))
                value["school_year"] = f"{first:04}-{first + 1:04}"
        since, until = value.get("from"), value.get("until")
        if isinstance(since, str) and isinstance(until, str):
            try:
                start, end = datetime.fromisoformat(since), datetime.fromisoformat(until)
                if end <= start and start.year < 9999:
                    value["until"] = (start + timedelta(days=1)).isoformat()
            except (ValueError, TypeError, OverflowError):
                pass
        for child in value.values():
            complete(child)
    elif isinstance(value, list):
        for child in value:
            complete(child)
    return value


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    if isinstance(case.body, (dict, list)):
        complete(case.body)
    return case
