#!/bin/sh
# The installed library as a user outside the source tree gets it: `meson install` into a
# temporary prefix, then examples/embed/main.cpp built in a temporary directory with
# nothing but -std=c++20 and `pkg-config --cflags --libs wsgibridge`, and run.
# Cflags must be -I<prefix>/include alone (no Python or Boost include path).
# Usage: installed.sh BUILD_DIR SOURCE_DIR COMPILER [COMPILER ARGS...]
set -eu
build=$1
source=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; exit 1; }
pc=$(find "$tmp/root" -name wsgibridge.pc | head -1)
[ -n "$pc" ] || { echo "FAIL no wsgibridge.pc installed"; exit 1; }
echo "installed $pc"
export PKG_CONFIG_PATH="$(dirname "$pc")"
# --destdir moved the prefix under $tmp/root (--define-prefix would guess it wrong for a
# multiarch libdir, lib/x86_64-linux-gnu/pkgconfig).
prefix="$tmp/root$(pkg-config --variable=prefix wsgibridge)"
pc() { pkg-config --define-variable=prefix="$prefix" "$@" wsgibridge; }
cflags=$(pc --cflags)
libs=$(pc --libs)
echo "cflags: $cflags"
echo "libs:   $libs"
case "$cflags" in
    *python* | *boost*) echo "FAIL Cflags carry a dependency's include path"; exit 1 ;;
esac
mkdir "$tmp/user"
cp "$source/examples/embed/main.cpp" "$tmp/user/"
cd "$tmp/user"
# shellcheck disable=SC2086 # pkg-config output is a list of words
sanitize=""
case "${WSGIBRIDGE_SANITIZE:-none}" in none | "") ;; *) sanitize="-fsanitize=$WSGIBRIDGE_SANITIZE" ;; esac
"$@" -std=c++20 -Wall -Wextra -Werror $sanitize main.cpp $cflags $libs -o embed
libdir=$(pc --variable=libdir)
status=0
LD_LIBRARY_PATH="$libdir" ./embed >out.txt 2>&1 || status=$?
cat out.txt
# Without arguments it prints its usage and exits 2: it loaded and ran against the .so.
[ "$status" -eq 2 ] && grep -q '^usage:' out.txt || { echo "FAIL embed exited $status"; exit 1; }
LD_LIBRARY_PATH="$libdir" ldd ./embed | grep -q "$libdir/libwsgibridge.so" || { echo "FAIL not linked to the installed library"; LD_LIBRARY_PATH="$libdir" ldd ./embed; exit 1; }
echo "ok"
