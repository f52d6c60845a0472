"""Shadow of nbgrader's submission times (checked against nbgrader 0.9.6 and the SQLAlchemy it
installs; see autograder.shadows): times as nbgrader reads and stores them, without importing
nbgrader. tests/test_gradebook_rows.py compares `parse_utc` with nbgrader's.

`parse_utc` gives what nbgrader.utils.parse_utc gives (a naive datetime in UTC): the exchange's
own format ("2026-03-01 12:30:00.000000 UTC") is read with the standard library, anything else with
dateutil, exactly as nbgrader does it. The gradebook stores datetimes as SQLAlchemy does on SQLite.
"""

from __future__ import annotations

import datetime

EPOCH = datetime.datetime(1970, 1, 1)


def parse_utc(text: str) -> datetime.datetime:
    """nbgrader.utils.parse_utc of a string: "DATE TIME ZONE" with the zone as a name or a number,
    or anything dateutil reads; the result is naive, in UTC. ValueError when unreadable, whatever
    dateutil raised (the text comes from a submission folder)."""
    parts = text.split(" ")
    if len(parts) == 3 and parts[2] == "UTC":
        try:
            when = datetime.datetime.fromisoformat(f"{parts[0]} {parts[1]}")
        except ValueError:
            when = None
        if when is not None and when.tzinfo is None:
            return when
    try:
        return _parsed_by_dateutil(text, parts)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - the text is the student's: whatever dateutil raises, it is no time
        # (a zone that names a file outside the tz database raises DeprecatedTzKeyWarning, a number too
        # large OverflowError, an unreadable tz file OSError)
        raise ValueError(f"not a time: {type(exc).__name__}: {exc}") from None


def _parsed_by_dateutil(text: str, parts: list[str]) -> datetime.datetime:
    import dateutil.parser
    import dateutil.tz

    if len(parts) == 3:
        zone = parts[2]
        try:
            tz = int(zone)
        except ValueError:
            tz = dateutil.tz.gettz(zone)
        when = dateutil.parser.parse(" ".join([*parts[:2], "TZ"]), tzinfos={"TZ": tz})
    else:
        when = dateutil.parser.parse(text)
    if when.tzinfo is not None:
        when = (when - when.utcoffset()).replace(tzinfo=None)
    return when


def to_db(when: datetime.datetime | None) -> str | None:
    """A DATETIME column's text, as SQLAlchemy writes it on SQLite."""
    if when is None:
        return None
    return (f"{when.year:04d}-{when.month:02d}-{when.day:02d} "
            f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}.{when.microsecond:06d}")


def from_db(text: str | None) -> datetime.datetime | None:
    return None if text is None else datetime.datetime.fromisoformat(text)


def interval_from_db(text: str | None) -> datetime.timedelta | None:
    """An Interval column (an extension): SQLAlchemy stores it on SQLite as the epoch plus it."""
    return None if text is None else datetime.datetime.fromisoformat(text) - EPOCH


def by_nbgrader(text: str) -> datetime.datetime:
    """nbgrader.utils.parse_utc itself (on a version of nbgrader the shadow was not checked
    against); ValueError when unreadable, whatever it raised."""
    from nbgrader.utils import parse_utc as nbgraders

    try:
        return nbgraders(text)
    except Exception as exc:  # noqa: BLE001 - the text is the student's
        raise ValueError(f"not a time: {type(exc).__name__}: {exc}") from None
