// Command-line parsing shared by every program: the options every program has (--app,
// --chdir, --pythonpath, --virtualenv, logs, limits) in one table each program extends
// with its own flags. Boost.Program_options reads the command line from that table, and
// --ini FILE reads a uWSGI [uwsgi] file into the same table (uwsgi_ini.hpp), so --help,
// the command line and the ini file cannot drift apart.
#pragma once

#include "wsgibridge/limits.hpp"
#include "wsgibridge/log.hpp"
#include "wsgibridge/server_options.hpp"
#include "wsgibridge/wsgi_app.hpp"

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wsgibridge::cli {

/// Bad command line: main() prints the message and the usage, exit 2.
class UsageError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

class ArgParser
{
public:
    ArgParser(std::string program, std::string summary);

    /// --name VALUE (also --name=VALUE). `on_value` may throw UsageError.
    void option(std::string name, std::string metavar, std::string help,
                std::function<void(std::string_view)> on_value);
    /// --name, no value.
    void flag(std::string name, std::string help, std::function<void()> on_set);

    /// Parses argv[1..]. Returns false when --help was given (usage printed to stdout).
    /// Positional arguments are collected into positionals(). --ini FILE (every program)
    /// is applied first, so the command line overrides it. Throws UsageError.
    bool parse(int argc, char** argv);
    const std::vector<std::string>& positionals() const noexcept { return positionals_; }
    std::string usage() const;

private:
    struct Entry
    {
        std::string name, metavar, help;
        std::function<void(std::string_view)> on_value;
        std::function<void()> on_set;
    };
    const Entry* find(std::string_view name) const;
    void apply(const Entry& entry, std::string_view value) const;
    void apply_ini(const std::string& path) const;

    std::string program_, summary_;
    std::vector<Entry> entries_;
    std::vector<std::string> positionals_;
};

struct CommonOptions
{
    std::string app;                      ///< --app SPEC
    std::string chdir;                    ///< --chdir DIR
    std::vector<std::string> python_path; ///< --pythonpath DIR (repeatable)
    std::string virtualenv;               ///< --virtualenv DIR
    std::string log_file;                 ///< --log-file PATH ("" = stderr)
    std::string access_log;               ///< --access-log PATH ("-" = stdout, "" = off)
    LogLevel log_level = LogLevel::info;  ///< --log-level
    Limits limits;
};

/// Adds --app, --chdir, --pythonpath, --virtualenv, --log-file, --log-level and, when
/// `with_access_log`, --access-log.
void add_common_options(ArgParser& parser, CommonOptions& options, bool with_access_log = true);
/// What --help says of the server options where the programs differ.
struct ServerOptionHelp
{
    std::string_view bind;
    std::string_view socket_mode = "permissions of the unix socket, octal up to 0777 (e.g. 0660)";
    std::string_view mount;
};
/// Adds --bind, --socket-mode and --mount, filling the ServerOptions part every program
/// shares (HttpServerOptions, FastcgiServerOptions, StreamServerOptions).
void add_server_options(ArgParser& parser, ServerOptions& server, const ServerOptionHelp& help);
/// The limit options a program offers beyond those every front end reads: each only
/// where its front end enforces it, so no program accepts an option that does nothing.
struct LimitOptionSet
{
    bool target = false; ///< --max-target-bytes: an HTTP request line
    bool header_timeout =
        false;              ///< --header-timeout: a head read from a client (HTTP, SCGI, uwsgi)
    bool keepalive = false; ///< --keepalive-timeout: idle kept-alive HTTP connections
};
/// Adds --max-header-bytes, --max-header-count, --max-body, --io-timeout, --max-drain, and
/// those of `extra` (times in seconds, may be fractional).
void add_limit_options(ArgParser& parser, Limits& limits, LimitOptionSet extra = {});

std::uint64_t parse_size(std::string_view option,
                         std::string_view text); ///< "10", "64k", "10M", "1G"
unsigned parse_count(std::string_view option, std::string_view text);
/// --socket-mode (net::parse_socket_mode): octal, at most 0777. Throws UsageError.
unsigned parse_socket_mode(std::string_view text);
std::chrono::milliseconds parse_seconds(std::string_view option, std::string_view text);

/// Applies --chdir (throws std::system_error) and builds the interpreter options, with
/// PYTHONHASHSEED as python3 reads it (a bad value throws std::runtime_error).
PythonOptions prepare_python(const CommonOptions& options);
/// The error log the options ask for.
Logger open_error_log(const CommonOptions& options);

/// Runs `body`, turning escaping exceptions into a message on stderr and an exit status:
/// UsageError → 2 (with usage), AppLoadError → 3, anything else → 1.
int run_main(const ArgParser& parser, const std::function<int()>& body) noexcept;

} // namespace wsgibridge::cli
