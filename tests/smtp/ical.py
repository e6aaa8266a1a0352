#!/usr/bin/env python3
"""Parses iCalendar objects with Python's `icalendar` package (an independent parser) for the
end-to-end tests, and prints what they say as one JSON line each.

    ical.py a.ics b.ics      (or one object on stdin)

For each object: METHOD, the time zones it defines (VTIMEZONE TZIDs), and per VEVENT its
UID, SEQUENCE, STATUS, SUMMARY, DESCRIPTION, LOCATION, DTSTART/DTEND (the value as written,
its TZID parameter, whether it is UTC), ORGANIZER and ATTENDEEs with their parameters.
Parameter values are those the parser decoded (quoting and RFC 6868 caret encoding undone).
"""

import json
import sys

import icalendar


def params(prop) -> dict:
    return {k.upper(): str(v) for k, v in prop.params.items()}


def when(component, name: str):
    prop = component.get(name)
    if prop is None:
        return None
    value = prop.dt
    return {
        "value": value.strftime("%Y-%m-%dT%H:%M:%S"),
        "tzid": prop.params.get("TZID"),
        "utc": value.tzinfo is not None and value.utcoffset() is not None and value.utcoffset().total_seconds() == 0
        and prop.to_ical().decode().endswith("Z"),
        "raw": prop.to_ical().decode(),
    }


def describe(text: str) -> dict:
    cal = icalendar.Calendar.from_ical(text)
    events = []
    for event in cal.walk("VEVENT"):
        organizer = event.get("ORGANIZER")
        attendees = event.get("ATTENDEE") or []
        if not isinstance(attendees, list):
            attendees = [attendees]
        events.append(
            {
                "uid": str(event.get("UID")),
                "sequence": int(event.get("SEQUENCE", 0)),
                "status": str(event.get("STATUS")) if event.get("STATUS") else None,
                "summary": str(event.get("SUMMARY")),
                "description": str(event.get("DESCRIPTION", "")),
                "location": str(event.get("LOCATION")) if event.get("LOCATION") else None,
                "dtstamp": when(event, "DTSTAMP"),
                "dtstart": when(event, "DTSTART"),
                "dtend": when(event, "DTEND"),
                "organizer": {"value": str(organizer), "params": params(organizer)} if organizer else None,
                "attendees": [{"value": str(a), "params": params(a)} for a in attendees],
            }
        )
    return {
        "method": str(cal.get("METHOD")) if cal.get("METHOD") else None,
        "version": str(cal.get("VERSION")),
        "prodid": str(cal.get("PRODID")),
        "timezones": [str(tz.get("TZID")) for tz in cal.walk("VTIMEZONE")],
        "events": events,
        "errors": [repr(e) for c in cal.walk() for e in getattr(c, "errors", [])],
    }


def main() -> None:
    if len(sys.argv) > 1:
        for path in sys.argv[1:]:
            with open(path, encoding="utf-8") as f:
                print(json.dumps(describe(f.read())), flush=True)
    else:
        print(json.dumps(describe(sys.stdin.read())), flush=True)


if __name__ == "__main__":
    main()
