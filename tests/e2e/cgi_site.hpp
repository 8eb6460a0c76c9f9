// A shared-hosting style site for the CGI end-to-end tests: htdocs/ in a TempDir with
// the Flask test app installed in shebang mode ("#!<build>/cli/wsgi-cgi"), plus a few
// helpers to start a server from a config template and to read curl's answers.
#pragma once

#include "process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wsgibridge::test {

struct HttpAnswer
{
    int status = 0;
    std::string head; ///< status line and header fields of the final response
    std::string body;
    std::string header(std::string_view name) const;
    nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

/// Splits `curl -s -i` output (skipping 100 Continue) into an HttpAnswer.
HttpAnswer parse_curl(const CommandResult& r);

class CgiSite
{
public:
    /// Creates htdocs/ with app.cgi (the Flask app), nph-hello.cgi, broken.cgi and the
    /// .htaccess of examples/cgi.
    CgiSite();
    const TempDir& dir() const { return dir_; }
    std::filesystem::path htdocs() const { return dir_ / "htdocs"; }
    std::filesystem::path wsgi_cgi() const;
    /// Copies the C++ cgi_probe program to htdocs/probe.cgi and htdocs/nph-probe.cgi.
    void install_probe() const;
    /// Writes htdocs/<name> as an executable script running the given Python source.
    void add_script(const std::string& name, const std::string& python) const;
    /// Creates dir()/<name> empty and owned by `user` (lighttpd opens its logs after
    /// dropping privileges).
    void create_log_for(const std::string& name, const std::string& user) const;
    /// The server's error log and its stderr (server-stderr.log): Apache sends script
    /// stderr to the former, lighttpd to the latter.
    std::string error_log() const
    {
        return read_file(dir_ / "error.log") + read_file(dir_ / "server-stderr.log");
    }

    /// AddressSanitizer and UBSan reports of the scripts (sanitizer builds), or "".
    /// Leak reports are left to tests/lsan.supp and the unit tests: CGI children run
    /// with the server's environment.
    std::string sanitizer_errors() const;

    HttpAnswer request(unsigned short port, const std::string& path,
                       const std::vector<std::string>& curl_args = {}) const;

private:
    TempDir dir_;
};

/// Waits until `server` accepts on `port`; false at once if it exited.
bool wait_until_serving(ChildProcess& server, unsigned short port);

/// The user the servers run scripts as when the tests run as root.
std::string unprivileged_user();

} // namespace wsgibridge::test
