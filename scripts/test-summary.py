#!/usr/bin/python3
"""Prints the closing line CI reads, 'N passed, N failed, N skipped', from meson's
testlog.json files (one per build directory given on the command line). It counts the
GoogleTest cases inside each test executable (meson alone counts executables, and calls
an executable whose cases were all skipped 'OK'), and lists every skipped case so a
peer that failed to install cannot hide behind a green run."""
import json
import re
import sys

passed = failed = skipped = 0
skipped_names = []
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            out = r.get("stdout", "") or ""
            ok = r.get("result") in ("OK", "EXPECTEDFAIL")
            p = re.search(r"^\[  PASSED  \] (\d+) test", out, re.M)
            fl = re.search(r"^\[  FAILED  \] (\d+) test", out, re.M)
            sk = re.search(r"^\[  SKIPPED \] (\d+) test", out, re.M)
            if p or fl or sk:
                passed += int(p.group(1)) if p else 0
                failed += int(fl.group(1)) if fl else 0
                skipped += int(sk.group(1)) if sk else 0
                if not ok and not fl:
                    failed += 1  # crashed or timed out after its cases ran
                for m in re.finditer(r"^\[  SKIPPED \] (\S+)$", out, re.M):
                    skipped_names.append(f"{r.get('name')}: {m.group(1)}")
            elif r.get("result") == "SKIP":
                skipped += 1
            elif ok:
                passed += 1
            else:
                failed += 1
for name in sorted(set(skipped_names)):
    print(f"skipped: {name}")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
