"""EventBridge schedule expressions — `rate(...)` and `cron(...)` — evaluated locally, so scheduled
rules from the template fire on time against the local cloud as they would in AWS (UTC)."""

from __future__ import annotations

import datetime as dt
import re

_DOW = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MON = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}


def rate_seconds(expression: str) -> int | None:
    m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not m:
        return None
    unit = {"minute": 60, "hour": 3600, "day": 86400}[m.group(2).rstrip("s")]
    return int(m.group(1)) * unit


def _field(spec: str, lo: int, hi: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The values a cron field allows; None for '*' / '?' (anything)."""
    if spec in ("*", "?"):
        return None
    values: set[int] = set()
    for part in spec.upper().split(","):
        step = 1
        if "/" in part:
            part, step_s = part.split("/", 1)
            step = int(step_s)
        if part in ("*", ""):
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _num(a, names), _num(b, names)
        else:
            start = _num(part, names)
            end = hi if step > 1 else start
        values.update(range(start, end + 1, step))
    return values


def _num(token: str, names: dict[str, int] | None) -> int:
    if names and token in names:
        return names[token]
    return int(token)


def cron_matches(expression: str, when: dt.datetime) -> bool:
    """Does `cron(min hour day-of-month month day-of-week year)` fire in the minute `when` (UTC)?

    Supports what EventBridge users write: numbers, names (JAN, MON), lists, ranges, steps, * and ?.
    The special L / W / # forms are not supported and never match.
    """
    m = re.fullmatch(r"cron\((.+)\)", expression.strip())
    if not m:
        raise ValueError(f"not a cron expression: {expression}")
    fields = m.group(1).split()
    if len(fields) != 6:
        raise ValueError(f"cron needs 6 fields: {expression}")
    names = "|".join([*_DOW, *_MON])
    if any(c in re.sub(names, "", f.upper()) for f in fields for c in "LW#"):
        return False
    minute, hour, dom, month, dow, year = fields
    checks = [
        (_field(minute, 0, 59), when.minute),
        (_field(hour, 0, 23), when.hour),
        (_field(dom, 1, 31), when.day),
        (_field(month, 1, 12, _MON), when.month),
        (_field(dow, 1, 7, _DOW), when.isoweekday() % 7 + 1),  # EventBridge: 1 = Sunday
        (_field(year, 1970, 2199), when.year),
    ]
    return all(allowed is None or value in allowed for allowed, value in checks)
