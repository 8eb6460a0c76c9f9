#!/bin/sh
# libwsgibridge.so exports the public API and nothing else: no Boost (its templates are
# instantiated inside, and a program using another Boost must not bind to ours), no
# internal namespaces (wsgibridge::http::Session, wsgibridge::fastcgi::Connection, py::).
# Usage: exported_symbols.sh LIBRARY
set -u
lib=$1
symbols=$(nm -D --defined-only "$lib" | c++filt) || exit 1
count=$(printf '%s\n' "$symbols" | wc -l)
echo "$count exported symbols"
failed=0
# Names, not argument lists: "Impl::on_accept(boost::system::error_code)" is a member of
# an exported class's private Impl, and only its parameter type is Boost's.
names=$(printf '%s\n' "$symbols" | cut -d' ' -f3- | sed 's/(.*//')
bad=$(printf '%s\n' "$names" | grep -E '(^|[ <])boost::|wsgibridge::(http|fastcgi|cgi|scgi|uwsgi|stream|py|net|runtime|detail)::')
if [ -n "$bad" ]; then
    echo "FAIL internal or Boost symbols exported:"
    printf '%s\n' "$bad" | head -20
    failed=1
fi
for want in 'wsgibridge::HttpServer::run' 'wsgibridge::FastcgiServer::run' 'wsgibridge::run_cgi' \
    'wsgibridge::WsgiApp::WsgiApp' 'wsgibridge::Interpreter::Interpreter' 'wsgibridge::AppSpec::parse' \
    'typeinfo for wsgibridge::RequestHandler' 'typeinfo for wsgibridge::AppLoadError' \
    'wsgibridge::Listener::Listener' 'wsgibridge::Listener::~Listener' 'wsgibridge::open_listener' \
    'wsgibridge::call(wsgibridge::RequestHandler&, wsgibridge::CallRequest const&)' \
    'wsgibridge::CallResponse::header' 'wsgibridge::Logger::Logger(std::function<void (wsgibridge::LogLevel' \
    'typeinfo for wsgibridge::ResponseSink'; do
    printf '%s\n' "$symbols" | grep -qF "$want" || { echo "FAIL missing from the API: $want"; failed=1; }
done
# The interpreter's shared runtime (what a WsgiApp keeps alive) is opaque: not exported.
if printf '%s\n' "$symbols" | grep -qF 'wsgibridge::Interpreter::Runtime'; then
    echo "FAIL wsgibridge::Interpreter::Runtime is exported"
    failed=1
fi
# The public API is small; a count in the hundreds means visibility is not applied.
[ "$count" -le 150 ] || { echo "FAIL $count symbols: is -fvisibility=hidden lost?"; failed=1; }
exit $failed
