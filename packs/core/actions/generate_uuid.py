#!/usr/bin/env python3
"""core.uuid: print one UUID.

Attune's python runner passes the action's parameters as one JSON object on
stdin; run by hand, the script also works with no input (uuid4).
"""
import json
import sys
import uuid

GENERATORS = {"uuid1": uuid.uuid1, "uuid4": uuid.uuid4}


def read_parameters():
    if sys.stdin is None or sys.stdin.isatty():
        return {}
    text = sys.stdin.read().strip()
    return json.loads(text) if text else {}


def main():
    uuid_type = read_parameters().get("uuid_type") or "uuid4"
    generator = GENERATORS.get(uuid_type)
    if generator is None:
        print("uuid_type must be uuid1 or uuid4, got %r" % (uuid_type,), file=sys.stderr)
        return 2
    print(generator())
    return 0


if __name__ == "__main__":
    sys.exit(main())
