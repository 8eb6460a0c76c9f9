#include "options.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <system_error>

namespace wsgibridge::cli {

ArgParser::ArgParser(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary))
{
}

void ArgParser::option(std::string name, std::string metavar, std::string help,
                       std::function<void(std::string_view)> on_value)
{
    entries_.push_back({std::move(name), std::move(metavar), std::move(help), std::move(on_value), {}});
}

void ArgParser::flag(std::string name, std::string help, std::function<void()> on_set)
{
    entries_.push_back({std::move(name), {}, std::move(help), {}, std::move(on_set)});
}

const ArgParser::Entry* ArgParser::find(std::string_view name) const
{
    for (const auto& e : entries_)
        if (e.name == name) return &e;
    return nullptr;
}

bool ArgParser::parse(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(usage().c_str(), stdout);
            return false;
        }
        if (!arg.starts_with("--")) {
            positionals_.emplace_back(arg);
            continue;
        }
        std::string_view name = arg, value;
        bool has_inline_value = false;
        if (auto eq = arg.find('='); eq != std::string_view::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            has_inline_value = true;
        }
        const Entry* e = find(name);
        if (!e) throw UsageError(concat("unknown option ", name));
        if (e->on_set) {
            if (has_inline_value) throw UsageError(concat(name, " takes no value"));
            e->on_set();
            continue;
        }
        if (!has_inline_value) {
            if (i + 1 >= argc) throw UsageError(concat(name, " needs a value (", e->metavar, ")"));
            value = argv[++i];
        }
        e->on_value(value);
    }
    return true;
}

std::string ArgParser::usage() const
{
    std::string out = concat("usage: ", program_, " [options]\n", summary_, "\n\noptions:\n");
    for (const auto& e : entries_) {
        std::string left = "  " + e.name;
        if (!e.metavar.empty()) left += " " + e.metavar;
        if (left.size() < 30) left.resize(30, ' ');
        else left += "\n" + std::string(30, ' ');
        out += left + e.help + "\n";
    }
    return out;
}

std::uint64_t parse_size(std::string_view option, std::string_view text)
{
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    std::string_view suffix(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::uint64_t scale = 1;
    if (suffix == "k" || suffix == "K") scale = 1024;
    else if (suffix == "m" || suffix == "M") scale = 1024 * 1024;
    else if (suffix == "g" || suffix == "G") scale = 1024ull * 1024 * 1024;
    else if (!suffix.empty()) ec = std::errc::invalid_argument;
    if (ec != std::errc{} || text.empty() || value > UINT64_MAX / scale)
        throw UsageError(concat(option, ": expected a size like 65536, 64k or 10M, got '", text, "'"));
    return value * scale;
}

unsigned parse_count(std::string_view option, std::string_view text)
{
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
        throw UsageError(concat(option, ": expected a whole number, got '", text, "'"));
    return value;
}

std::chrono::milliseconds parse_seconds(std::string_view option, std::string_view text)
{
    try {
        std::size_t used = 0;
        double seconds = std::stod(std::string(text), &used);
        if (used == text.size() && seconds >= 0 && seconds < 1e7)
            return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    } catch (const std::exception&) {
    }
    throw UsageError(concat(option, ": expected seconds like 10 or 0.5, got '", text, "'"));
}

void add_common_options(ArgParser& p, CommonOptions& o, bool with_access_log)
{
    p.option("--app", "SPEC",
             "the WSGI application: module:callable, package.module:callable, file.py or "
             "file.py:callable (default callable: application, then app)",
             [&o](std::string_view v) { o.app = v; });
    p.option("--chdir", "DIR", "change to DIR before loading the application",
             [&o](std::string_view v) { o.chdir = v; });
    p.option("--pythonpath", "DIR", "prepend DIR to sys.path (repeatable)",
             [&o](std::string_view v) { o.python_path.emplace_back(v); });
    p.option("--virtualenv", "DIR", "use the packages of the virtualenv in DIR",
             [&o](std::string_view v) { o.virtualenv = v; });
    p.option("--log-file", "PATH", "append the error log to PATH (default: stderr)",
             [&o](std::string_view v) { o.log_file = v; });
    p.option("--log-level", "LEVEL", "debug, info, warning or error (default: info)",
             [&o](std::string_view v) {
                 if (v == "debug") o.log_level = LogLevel::debug;
                 else if (v == "info") o.log_level = LogLevel::info;
                 else if (v == "warning") o.log_level = LogLevel::warning;
                 else if (v == "error") o.log_level = LogLevel::error;
                 else throw UsageError(concat("--log-level: expected debug, info, warning or error, got '", v, "'"));
             });
    if (with_access_log)
        p.option("--access-log", "PATH",
                 "write an access log line per request (combined format) to PATH, - for stdout",
                 [&o](std::string_view v) { o.access_log = v; });
}

void add_limit_options(ArgParser& p, Limits& l)
{
    p.option("--max-header-bytes", "SIZE", "largest request head / FastCGI params / CGI environment (default 64k; 431 above)",
             [&l](std::string_view v) { l.max_header_bytes = parse_size("--max-header-bytes", v); });
    p.option("--max-target-bytes", "SIZE", "longest request-target of an HTTP request line (default 8k; 414 above)",
             [&l](std::string_view v) { l.max_target_bytes = parse_size("--max-target-bytes", v); });
    p.option("--max-header-count", "N", "most request header fields (default 100; 431 above)",
             [&l](std::string_view v) { l.max_header_count = parse_count("--max-header-count", v); });
    p.option("--max-body", "SIZE", "largest request body (default 100M; 413 above)",
             [&l](std::string_view v) { l.max_body_bytes = parse_size("--max-body", v); });
    p.option("--header-timeout", "SECONDS", "time to receive a request head (default 10; 408 then close)",
             [&l](std::string_view v) { l.header_timeout = parse_seconds("--header-timeout", v); });
    p.option("--keepalive-timeout", "SECONDS", "idle time between kept-alive requests (default 15)",
             [&l](std::string_view v) { l.idle_timeout = parse_seconds("--keepalive-timeout", v); });
    p.option("--io-timeout", "SECONDS", "a body read or response write stalled this long fails (default 60)",
             [&l](std::string_view v) { l.io_timeout = parse_seconds("--io-timeout", v); });
    p.option("--max-drain", "SIZE", "unread body bytes discarded after the response so the client sees it (default 4M)",
             [&l](std::string_view v) { l.max_drain_bytes = parse_size("--max-drain", v); });
}

PythonOptions prepare_python(const CommonOptions& o)
{
    if (!o.chdir.empty() && ::chdir(o.chdir.c_str()) != 0)
        throw std::system_error(errno, std::generic_category(), "--chdir " + o.chdir);
    PythonOptions py;
    py.python_path = o.python_path;
    py.virtualenv = o.virtualenv;
    return py;
}

Logger open_error_log(const CommonOptions& o)
{
    if (o.log_file.empty()) return Logger(2, o.log_level);
    return Logger::open_file(o.log_file, o.log_level);
}

int run_main(const ArgParser& parser, const std::function<int()>& body) noexcept
{
    try {
        return body();
    } catch (const UsageError& e) {
        std::fprintf(stderr, "error: %s\n\n%s", e.what(), parser.usage().c_str());
        return 2;
    } catch (const AppLoadError& e) {
        std::fprintf(stderr, "error: cannot load the application: %s\n", e.what());
        return 3;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}

} // namespace wsgibridge::cli
