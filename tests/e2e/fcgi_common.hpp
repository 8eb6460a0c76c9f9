// Shared by the FastCGI end-to-end tests: starting wsgi-fcgi on the test app, and the
// checks every web server in front of it must pass (hello, Flask routes under a
// prefix, a 1 MiB POST echoed, a streamed response, an app crash then a good request,
// HTTP keep-alive).
#pragma once

#include "process.hpp"

#include <gtest/gtest.h>
#include <map>
#include <string>
#include <vector>

namespace wsgibridge::test {

/// build_root()/cli/wsgi-fcgi, or "" when it was not built.
std::string wsgi_fcgi_path();
/// tests/apps/fcgi_flask_app.py
std::string fcgi_test_app();

/// build_root()/cli/`program` ("wsgi-fcgi", "wsgi-scgi", ...), or "" when not built.
std::string gateway_path(const std::string& program);

/// Starts `program` --bind `bind` on the test app with `extra` arguments, logging at
/// debug level to `log`; waits until it listens. Fails the test when it does not.
ChildProcess start_gateway(const std::string& program, const std::string& bind,
                           const std::filesystem::path& log,
                           const std::vector<std::string>& extra = {});

/// Starts wsgi-fcgi --bind `bind` on the test app with `extra` arguments, logging at
/// debug level to `log`; waits until it listens. Fails the test when it does not.
ChildProcess start_wsgi_fcgi(const std::string& bind, const std::filesystem::path& log,
                             const std::vector<std::string>& extra = {});

/// Runs the common checks against http://127.0.0.1:port + prefix (prefix like "/app").
void check_http_front(unsigned short port, const std::string& prefix);

/// The text of examples/`name` with each `from` replaced by `to`; a `from` that is not
/// in the file fails the test (the example and its test must not drift apart).
std::string example_with(const std::string& name,
                         const std::vector<std::pair<std::string, std::string>>& edits);

/// The mod_fcgid wrapper examples/apache-fcgid/app.fcgi, pointed at the built
/// wsgi-fcgi and the test app, logging at debug level to `log`.
std::string example_fcgi_wrapper(const std::filesystem::path& log);

/// Apache 2.4 in the foreground in `dir` (its own ServerRoot, logs and pid file):
/// dir/httpd.conf is written from tests/e2e/conf/`conf_template` with DIR, PORT, USER and
/// GROUP (www-data when we are root, else ourselves) substituted, plus `vars`. The
/// caller waits for `port` (wait_for_tcp) and prints apache_logs(dir) on failure.
ChildProcess start_apache(const std::string& apache, const std::filesystem::path& dir,
                          const std::string& conf_template, unsigned short port,
                          std::map<std::string, std::string> vars = {});
/// error.log and stderr.log of an Apache started by start_apache.
std::string apache_logs(const std::filesystem::path& dir);

/// How many FastCGI connections the wsgi-fcgi that wrote `log` accepted.
int connections_accepted(const std::filesystem::path& log);

} // namespace wsgibridge::test
