#include "http_server.hpp"

namespace wsgibridge::test {

bool is_server_program(const std::string& program)
{
    auto name = std::filesystem::path(program).filename();
    return name == "wsgi-http" || name == "wsgi-fcgi" || name == "wsgi-scgi" ||
           name == "wsgi-uwsgi";
}

WsgiHttpProcess::WsgiHttpProcess(std::vector<std::string> extra, std::string program, bool add_bind)
{
    if (program.empty()) program = (build_root() / "cli" / "wsgi-http").string();
    std::vector<std::string> argv{program};
    // The tests run as root (CI): the application runs as root on purpose, unless the
    // test says whom to run as.
    bool says_who = false;
    for (const auto& a : extra)
        says_who = says_who || a == "--user" || a == "--allow-root";
    if (!says_who && is_server_program(program)) argv.push_back("--allow-root");
    bool binds = !add_bind;
    for (const auto& a : extra)
        binds = binds || a == "--bind";
    if (!binds) {
        port_ = free_tcp_port();
        argv.insert(argv.end(), {"--bind", "127.0.0.1:" + std::to_string(port_)});
    }
    for (const auto& a : extra)
        argv.push_back(substitute(a, {{"DIR", dir_.path().string()}}));
    SpawnOptions o;
    o.stderr_file = dir_ / "error.log";
    o.stdout_file = dir_ / "stdout.log";
    o.cwd = source_root();
    process_ = ChildProcess(argv, o);
    if (binds) {
        ready_ = true;
        return;
    }
    ready_ = wait_for_tcp(port_, std::chrono::seconds(20));
}

WsgiHttpProcess::~WsgiHttpProcess()
{
    process_.stop();
    auto log = error_log();
    if (tolerate_unreadable_vptr_) {
        // Drop each "runtime error: ... does not point to an object of type" report whose
        // memory the sanitizer could not read (the lines up to "<memory cannot be printed>").
        for (std::size_t at; (at = log.find("runtime error: member ")) != std::string::npos;) {
            auto end = log.find("<memory cannot be printed>", at);
            auto next = log.find("runtime error:", at + 1);
            if (end == std::string::npos || (next != std::string::npos && next < end)) break;
            log.erase(at, end - at);
        }
    }
    for (const char* finding :
         {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"})
        if (log.find(finding) != std::string::npos) ADD_FAILURE() << "the server reported: " << log;
}

std::string response_body(const std::string& raw)
{
    std::size_t start = 0;
    for (;;) {
        auto end = raw.find("\r\n\r\n", start);
        if (end == std::string::npos) return {};
        // curl -i prints every head: skip interim 1xx ones.
        if (raw.compare(start, 12, "HTTP/1.1 100") == 0) {
            start = end + 4;
            continue;
        }
        return raw.substr(end + 4);
    }
}

std::string response_status(const std::string& raw)
{
    std::size_t start = 0;
    while (raw.compare(start, 12, "HTTP/1.1 100") == 0) {
        auto end = raw.find("\r\n\r\n", start);
        if (end == std::string::npos) break;
        start = end + 4;
    }
    auto eol = raw.find("\r\n", start);
    return eol == std::string::npos ? raw.substr(start) : raw.substr(start, eol - start);
}

} // namespace wsgibridge::test
