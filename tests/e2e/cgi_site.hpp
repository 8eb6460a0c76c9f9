// A shared-hosting style site for the CGI end-to-end tests: htdocs/ in a TempDir with
// the Flask test app installed in shebang mode ("#!<build>/cli/wsgi-cgi"), plus a few
// helpers to start a server from a config template and to read curl's answers.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "process.hpp"

namespace wsgibridge::test {

struct HttpAnswer {
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
    /// Writes htdocs/<name> as an executable script running the given Python source.
    void add_script(const std::string& name, const std::string& python) const;
    /// The server's error log (Apache and lighttpd send script stderr there).
    std::string error_log() const { return read_file(dir_ / "error.log"); }

    HttpAnswer request(unsigned short port, const std::string& path,
                       const std::vector<std::string>& curl_args = {}) const;

private:
    TempDir dir_;
};

/// The user the servers run scripts as when the tests run as root.
std::string unprivileged_user();

} // namespace wsgibridge::test
