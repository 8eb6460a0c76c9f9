#include "options.hpp"

#include "net/listener.hpp"
#include "uwsgi_ini.hpp"

#include <boost/program_options.hpp>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

namespace wsgibridge::cli {

namespace po = boost::program_options;

namespace {

// Positional arguments (wsgi-cgi's script, the stream programs' app) under a name no
// one types; given as an option it is refused as unknown.
constexpr const char* positional_key = "wsgibridge-positional-argument";

// unix_style without allow_guessing: "--work 2" is an unknown option, not --workers.
constexpr int command_line_style =
    po::command_line_style::unix_style ^ po::command_line_style::allow_guessing;

} // namespace

ArgParser::ArgParser(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary))
{
    // Every program reads a uWSGI ini file; its keys become the options below.
    option("--ini", "FILE",
           "read the [uwsgi] section of a uWSGI ini file (socket, http-socket, https, module, "
           "wsgi-file, callable, mount, processes, ...: see README); the command line "
           "overrides it",
           [](std::string_view) {}); // applied by parse(), before the command line
}

void ArgParser::option(std::string name, std::string metavar, std::string help,
                       std::function<void(std::string_view)> on_value)
{
    entries_.push_back(
        {std::move(name), std::move(metavar), std::move(help), std::move(on_value), {}});
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

void ArgParser::apply(const Entry& e, std::string_view value) const
{
    if (e.on_set)
        e.on_set();
    else
        e.on_value(value);
}

void ArgParser::apply_ini(const std::string& path) const
{
    for (const auto& setting : read_uwsgi_ini(path, program_)) {
        const Entry* e = find(setting.option);
        if (!e || e->on_set || setting.option == "--ini")
            throw UsageError(concat(path, ": [uwsgi] ", setting.key, " (our ", setting.option,
                                    ") is not an option of ", program_));
        try {
            e->on_value(setting.value);
        } catch (const UsageError& error) {
            throw UsageError(concat(path, ": [uwsgi] ", setting.key, ": ", error.what()));
        }
    }
}

bool ArgParser::parse(int argc, char** argv)
{
    // The table Program_options parses with: the entries (value or flag), -h/--help and
    // the hidden positional arguments.
    po::options_description table;
    table.add_options()("help,h", "print the options");
    for (const auto& e : entries_) {
        if (e.on_set)
            table.add_options()(e.name.c_str() + 2, e.help.c_str());
        else
            table.add_options()(e.name.c_str() + 2, po::value<std::string>(), e.help.c_str());
    }
    table.add_options()(positional_key, po::value<std::vector<std::string>>());
    po::positional_options_description positional;
    positional.add(positional_key, -1);

    po::parsed_options parsed(&table);
    try {
        parsed = po::command_line_parser(argc, argv)
                     .options(table)
                     .positional(positional)
                     .style(command_line_style)
                     .run();
    } catch (const po::invalid_command_line_syntax& e) {
        std::string name = e.get_option_name();
        const Entry* entry = find(name);
        if (e.kind() == po::invalid_syntax::missing_parameter)
            throw UsageError(concat(name, " needs a value (", entry ? entry->metavar : "", ")"));
        if (e.kind() == po::invalid_syntax::extra_parameter)
            throw UsageError(concat(name, " takes no value"));
        throw UsageError(e.what());
    } catch (const po::unknown_option& e) {
        throw UsageError(concat("unknown option ", e.get_option_name()));
    } catch (const po::error& e) {
        throw UsageError(e.what());
    }

    for (const auto& o : parsed.options) {
        if (o.string_key == "help") {
            std::fputs(usage().c_str(), stdout);
            return false;
        }
        if (o.string_key == positional_key && o.position_key < 0)
            throw UsageError(concat("unknown option --", positional_key));
    }
    // The ini files first: an option on the command line overrides the file's.
    for (const auto& o : parsed.options)
        if (o.string_key == "ini") apply_ini(o.value.at(0));
    for (const auto& o : parsed.options) {
        if (o.string_key == "ini") continue;
        if (o.string_key == positional_key) {
            positionals_.insert(positionals_.end(), o.value.begin(), o.value.end());
            continue;
        }
        const Entry* e = find("--" + o.string_key);
        if (!e) throw UsageError(concat("unknown option --", o.string_key));
        apply(*e, o.value.empty() ? std::string_view() : std::string_view(o.value.front()));
    }
    return true;
}

std::string ArgParser::usage() const
{
    std::string out = concat("usage: ", program_, " [options]\n", summary_,
                             "\n\noptions (--help, -h: this list):\n");
    for (const auto& e : entries_) {
        std::string left = "  " + e.name;
        if (!e.metavar.empty()) left += " " + e.metavar;
        if (left.size() < 30)
            left.resize(30, ' ');
        else
            left += "\n" + std::string(30, ' ');
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
    if (suffix == "k" || suffix == "K")
        scale = 1024;
    else if (suffix == "m" || suffix == "M")
        scale = 1024 * 1024;
    else if (suffix == "g" || suffix == "G")
        scale = 1024ull * 1024 * 1024;
    else if (!suffix.empty())
        ec = std::errc::invalid_argument;
    if (ec != std::errc{} || text.empty() || value > UINT64_MAX / scale)
        throw UsageError(
            concat(option, ": expected a size like 65536, 64k or 10M, got '", text, "'"));
    return value * scale;
}

unsigned parse_socket_mode(std::string_view text)
{
    auto mode = net::parse_socket_mode(text);
    if (!mode)
        throw UsageError(concat(
            "--socket-mode: expected an octal mode from 0 to 0777 like 0660, got '", text, "'"));
    return *mode;
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
                 if (v == "debug")
                     o.log_level = LogLevel::debug;
                 else if (v == "info")
                     o.log_level = LogLevel::info;
                 else if (v == "warning")
                     o.log_level = LogLevel::warning;
                 else if (v == "error")
                     o.log_level = LogLevel::error;
                 else
                     throw UsageError(concat(
                         "--log-level: expected debug, info, warning or error, got '", v, "'"));
             });
    if (with_access_log)
        p.option("--access-log", "PATH",
                 "write an access log line per request (combined format) to PATH, - for stdout",
                 [&o](std::string_view v) { o.access_log = v; });
}

void add_server_options(ArgParser& p, ServerOptions& server, const ServerOptionHelp& help)
{
    p.option("--bind", "ADDR", std::string(help.bind),
             [&server](std::string_view v) { server.bind = v; });
    p.option("--socket-mode", "MODE", std::string(help.socket_mode),
             [&server](std::string_view v) { server.socket_mode = parse_socket_mode(v); });
    p.option("--mount", "PREFIX", std::string(help.mount),
             [&server](std::string_view v) { server.mount = v; });
}

void add_limit_options(ArgParser& p, Limits& l, LimitOptionSet extra)
{
    p.option(
        "--max-header-bytes", "SIZE",
        "largest request head / FastCGI params / CGI environment (default 64k; 431 above)",
        [&l](std::string_view v) { l.max_header_bytes = parse_size("--max-header-bytes", v); });
    if (extra.target)
        p.option(
            "--max-target-bytes", "SIZE",
            "longest request-target of an HTTP request line (default 8k; 414 above)",
            [&l](std::string_view v) { l.max_target_bytes = parse_size("--max-target-bytes", v); });
    p.option(
        "--max-header-count", "N", "most request header fields (default 100; 431 above)",
        [&l](std::string_view v) { l.max_header_count = parse_count("--max-header-count", v); });
    p.option("--max-body", "SIZE", "largest request body (default 100M; 413 above)",
             [&l](std::string_view v) { l.max_body_bytes = parse_size("--max-body", v); });
    if (extra.header_timeout)
        p.option(
            "--header-timeout", "SECONDS",
            "time to receive a request head (default 10; 408 then close)",
            [&l](std::string_view v) { l.header_timeout = parse_seconds("--header-timeout", v); });
    if (extra.keepalive)
        p.option(
            "--keepalive-timeout", "SECONDS", "idle time between kept-alive requests (default 15)",
            [&l](std::string_view v) { l.idle_timeout = parse_seconds("--keepalive-timeout", v); });
    p.option("--io-timeout", "SECONDS",
             "a body read or response write stalled this long fails (default 60)",
             [&l](std::string_view v) { l.io_timeout = parse_seconds("--io-timeout", v); });
    p.option("--max-drain", "SIZE",
             "unread body bytes discarded after the response so the client sees it (default 4M)",
             [&l](std::string_view v) { l.max_drain_bytes = parse_size("--max-drain", v); });
}

namespace {

std::optional<std::uint32_t> hash_seed_from_environment()
{
    // python3's reading of PYTHONHASHSEED (unset, empty or "random": a random seed per
    // process); only the digits it takes are accepted, and a bad value stops the
    // program as it stops python3.
    const char* text = std::getenv("PYTHONHASHSEED");
    std::string_view v = text ? text : "";
    if (v.empty() || v == "random") return std::nullopt;
    std::uint32_t seed = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seed);
    if (ec != std::errc() || end != v.data() + v.size())
        throw std::runtime_error("PYTHONHASHSEED must be \"random\" or an integer in [0, "
                                 "4294967295], not \"" +
                                 std::string(v) + "\"");
    return seed;
}

} // namespace

PythonOptions prepare_python(const CommonOptions& o)
{
    if (!o.chdir.empty() && ::chdir(o.chdir.c_str()) != 0)
        throw std::system_error(errno, std::generic_category(), "--chdir " + o.chdir);
    PythonOptions py;
    py.python_path = o.python_path;
    py.virtualenv = o.virtualenv;
    // The one PYTHON* variable the isolated interpreter takes: a fixed seed makes dict
    // and set orders (and benchmark instruction counts) repeat, as under uWSGI and
    // gunicorn, whose interpreters read the environment.
    py.hash_seed = hash_seed_from_environment();
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
