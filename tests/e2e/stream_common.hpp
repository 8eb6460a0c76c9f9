// Shared by the SCGI and uwsgi end-to-end tests: starting wsgi-scgi / wsgi-uwsgi on the
// FastCGI tests' Flask app (tests/apps/fcgi_flask_app.py), and the checks beyond
// check_http_front (fcgi_common) every front server must pass.
#pragma once

#include "fcgi_common.hpp"

#include <gtest/gtest.h>

namespace wsgibridge::test {

/// One of the two protocols, for tests parameterised over both.
struct Protocol
{
    const char* name;    ///< "uwsgi"
    const char* program; ///< "wsgi-uwsgi"
};

/// The test name suffix: the protocol's name.
inline std::string protocol_label(const testing::TestParamInfo<Protocol>& p)
{
    return p.param.name;
}

/// GET base + "/cookie" with a `size`-byte cookie; returns curl's raw output.
CommandResult get_with_cookie(const std::string& base, std::size_t size);

/// Sends a POST head announcing 1 MB and 10 KB of it to 127.0.0.1:port, then hangs up.
void disconnect_mid_body(unsigned short port, const std::string& path);

using Vars = std::vector<std::pair<std::string, std::string>>;
/// A uwsgi request head (modifier1 0) carrying `vars`.
std::string uwsgi_packet(const Vars& vars);
/// An SCGI request head: the netstring of `vars`.
std::string scgi_netstring(const Vars& vars);

/// The status code of curl -i output (the last head), 0 when there is none.
int status_code(const std::string& raw);

} // namespace wsgibridge::test
