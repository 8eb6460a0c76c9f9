#!/bin/sh
# Every public header compiles on its own with nothing but the C++20 standard library:
# no Boost, no Python include path. Beyond compiling (Boost sits in /usr/include, so it
# would be found anyway), the header's dependency list (-M) must name no file under a
# boost/ or python3.x/ directory.
# Usage: public_headers.sh INCLUDE_DIR COMPILER [COMPILER ARGS...]
set -u
include_dir=$1
shift
failed=0
count=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
for header in "$include_dir"/wsgibridge/*.hpp; do
    name=wsgibridge/$(basename "$header")
    count=$((count + 1))
    printf '#include <%s>\n#include <%s>\nint main() {}\n' "$name" "$name" >"$tmp/tu.cpp"
    if ! "$@" -std=c++20 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I "$include_dir" \
        "$tmp/tu.cpp" 2>"$tmp/err"; then
        echo "FAIL $name does not compile alone:"
        cat "$tmp/err"
        failed=1
        continue
    fi
    "$@" -std=c++20 -I "$include_dir" -M "$tmp/tu.cpp" >"$tmp/deps" 2>/dev/null
    leaked=$(tr ' \\' '\n\n' <"$tmp/deps" | grep -E '/boost/|/python3\.[0-9]+/|Python\.h' | sort -u)
    if [ -n "$leaked" ]; then
        echo "FAIL $name pulls in non-standard headers:"
        echo "$leaked" | head -5
        failed=1
    else
        echo "ok   $name"
    fi
done
[ "$count" -gt 0 ] || { echo "no headers found under $include_dir"; exit 1; }
# One owner per descriptor: the API hands out owners (Listener, UniqueFd), never a bare
# int the caller must remember to close.
bare=$(grep -nE 'WSGIBRIDGE_API +int +(open_[a-z_]*|[a-z_]*_fd|[a-z_]*listen[a-z_]*|[a-z_]*socket[a-z_]*) *\(' "$include_dir"/wsgibridge/*.hpp)
if [ -n "$bare" ]; then
    echo "FAIL a public function returns a bare descriptor:"
    echo "$bare"
    failed=1
fi
exit $failed
