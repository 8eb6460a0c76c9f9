#include "cgi_site.hpp"

#include <pwd.h>
#include <strings.h>
#include <unistd.h>

namespace wsgibridge::test {

std::string HttpAnswer::header(std::string_view name) const
{
    std::size_t pos = 0;
    while ((pos = head.find("\r\n", pos)) != std::string::npos) {
        pos += 2;
        auto end = head.find("\r\n", pos);
        std::string_view line = std::string_view(head).substr(pos, end - pos);
        auto colon = line.find(':');
        if (colon == name.size() && strncasecmp(line.data(), name.data(), name.size()) == 0) {
            auto value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ')
                value.remove_prefix(1);
            return std::string(value);
        }
    }
    return {};
}

HttpAnswer parse_curl(const CommandResult& r)
{
    HttpAnswer a;
    std::string_view rest = r.out;
    for (;;) {
        auto end = rest.find("\r\n\r\n");
        if (end == std::string_view::npos) {
            a.head = std::string(rest);
            return a;
        }
        a.head = std::string(rest.substr(0, end + 2));
        rest.remove_prefix(end + 4);
        if (a.head.size() > 12) a.status = std::atoi(a.head.c_str() + 9);
        if (a.status != 100) break;
    }
    a.body = std::string(rest);
    return a;
}

bool wait_until_serving(ChildProcess& server, unsigned short port)
{
    for (int i = 0; i < 100; ++i) {
        if (wait_for_tcp(port, std::chrono::milliseconds(100))) return true;
        if (!server.running()) return false;
    }
    return false;
}

std::string unprivileged_user()
{
    if (::geteuid() != 0) {
        passwd* pw = ::getpwuid(::geteuid());
        return pw ? pw->pw_name : "nobody";
    }
    return ::getpwnam("www-data") ? "www-data" : "nobody";
}

CgiSite::CgiSite()
{
    auto app = read_file(source_root() / "tests/apps/cgi_flask_app.py");
    add_script("app.cgi", app);
    add_script("nph-hello.cgi", "def application(environ, start_response):\n"
                                "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                                "    return [b'non-parsed hello\\n']\n");
    add_script("broken.cgi", "import module_that_does_not_exist_anywhere\n");
    write_file(htdocs() / ".htaccess", read_file(source_root() / "examples/cgi/.htaccess"));
}

std::filesystem::path CgiSite::wsgi_cgi() const
{
    return build_root() / "cli" / "wsgi-cgi";
}

void CgiSite::create_log_for(const std::string& name, const std::string& user) const
{
    write_file(dir_ / name, "");
    passwd* pw = ::getpwnam(user.c_str());
    if (pw && ::geteuid() == 0) {
        EXPECT_EQ(::chown((dir_ / name).c_str(), pw->pw_uid, pw->pw_gid), 0);
    }
}

void CgiSite::install_probe() const
{
    for (const char* name : {"probe.cgi", "nph-probe.cgi"}) {
        std::filesystem::copy_file(build_root() / "tests/e2e/cgi_probe", htdocs() / name,
                                   std::filesystem::copy_options::overwrite_existing);
    }
}

void CgiSite::add_script(const std::string& name, const std::string& python) const
{
    write_file(htdocs() / name, "#!" + wsgi_cgi().string() + "\n" + python, /*executable=*/true);
}

std::string CgiSite::sanitizer_errors() const
{
    std::string log = error_log(), found;
    std::size_t pos = 0;
    while (pos < log.size()) {
        auto end = log.find('\n', pos);
        if (end == std::string::npos) end = log.size();
        std::string_view line = std::string_view(log).substr(pos, end - pos);
        if (line.find("ERROR: AddressSanitizer") != line.npos ||
            line.find("runtime error:") != line.npos)
            (found += line) += '\n';
        pos = end + 1;
    }
    return found;
}

HttpAnswer CgiSite::request(unsigned short port, const std::string& path,
                            const std::vector<std::string>& curl_args) const
{
    std::vector<std::string> args = curl_args;
    args.push_back("http://127.0.0.1:" + std::to_string(port) + path);
    return parse_curl(curl(args));
}

} // namespace wsgibridge::test
