# Shared by scripts/demo, scripts/test and bench/run: install the Debian packages that
# are missing (and nothing else), without starting the services they bring.
# shellcheck shell=bash

# Build and test dependencies. Boost 1.81 (not the default 1.74: Beast's
# message_generator and Process v2); Debian's CPython 3.11 for embedding.
WSGIBRIDGE_BUILD_PACKAGES=(meson ninja-build g++ pkg-config libboost1.81-dev python3-dev
    libboost-program-options1.81-dev nlohmann-json3-dev libssl-dev)
# The real peers the end-to-end tests run: servers, clients and frameworks.
# Every Python framework a test or example imports is here: a framework test that cannot
# import its framework fails, so a missing name fails on a new machine, not silently.
WSGIBRIDGE_TEST_PACKAGES=(libgtest-dev libgmock-dev curl nginx-light apache2
    libapache2-mod-fcgid apache2-suexec-pristine lighttpd libfcgi-bin clang libclang-rt-14-dev
    python3-flask python3-django python3-bottle python3-falcon python3-pyramid python3-webob
    python3-werkzeug haproxy openssl libapache2-mod-proxy-uwsgi
    uwsgi uwsgi-plugin-python3 # tests/e2e/stream_heads: uWSGI's own response heads
    pkgconf binutils # tests/library: pkg-config on the installed .pc, nm -D on the .so
    prometheus) # promtool checks --stats /metrics

missing_packages() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}

ensure_packages() {
    local missing
    mapfile -t missing < <(missing_packages "$@")
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    # Packages like apache2 and nginx start their service on install; we start our own
    # instances on loopback, so keep the system ones from binding port 80.
    local policy=/usr/sbin/policy-rc.d created=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created=1
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    local rc=$?
    [ -n "$created" ] && $sudo rm -f "$policy"
    return $rc
}
