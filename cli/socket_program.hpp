// What wsgi-fcgi, wsgi-scgi and wsgi-uwsgi share: where they listen (--bind, or a
// listening socket handed over on fd 0 by spawn-fcgi/mod_fcgid, or by systemd socket
// activation) and the process model around the protocol's server (a master and its
// workers by default, --no-master, --preload, --timeout, --max-requests, --stats, ...).
// Each program only says how to build its server on a socket (SocketServerFactory).
#pragma once

#include "options.hpp"
#include "privileges.hpp"
#include "process_options.hpp"
#include "wsgibridge/handler.hpp"
#include "wsgibridge/log.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace wsgibridge::cli {

struct SocketProgram
{
    std::string program;  ///< "wsgi-fcgi": the interpreter's program name, log lines
    std::string protocol; ///< "FastCGI": log lines
    /// --threads when not given: what a bare `wsgi-fcgi --bind ...` runs with.
    unsigned default_threads = 1;

    CommonOptions common;
    std::string bind;         ///< --bind; empty: the inherited socket
    unsigned socket_mode = 0; ///< --socket-mode
    std::optional<unsigned> threads;
    std::optional<std::uint64_t> max_requests;
    ProcessOptions proc;
    PrivilegeOptions privileges; ///< --user, --group, --allow-root
};

/// What the protocol's server is given, once the process model decided it.
struct SocketServerPlan
{
    std::string bind;   ///< empty: serve listen_fd
    int listen_fd = -1; ///< inherited (fd 0, systemd's fd 3) or the master's
    unsigned socket_mode = 0;
    unsigned threads = 1;
    std::uint64_t max_requests = 0; ///< without a master: the process stops after these
};

/// `options` (FastcgiServerOptions, StreamServerOptions) with the socket, threads and
/// request budget the plan settled on.
template <class Options>
Options with_plan(Options options, const SocketServerPlan& plan)
{
    options.bind = plan.bind;
    options.listen_fd = plan.listen_fd;
    options.socket_mode = plan.socket_mode;
    options.threads = plan.threads;
    options.max_requests = plan.max_requests;
    return options;
}

/// A server built on its socket, ready to run (FastcgiServer, StreamServer).
class SocketServer
{
public:
    virtual ~SocketServer() = default;
    /// Serves until a stop signal (or max_requests); returns once in-flight requests ended.
    virtual void run() = 0;
};

template <class Server>
class SocketServerOf final : public SocketServer
{
public:
    template <class... Args>
    explicit SocketServerOf(Args&&... args) : server_(std::forward<Args>(args)...)
    {
    }
    void run() override { server_.run(); }

private:
    Server server_;
};

/// Builds the program's server for `plan` serving `handler`, logging accesses to
/// `access`. Throws std::invalid_argument for a bad address (a usage error).
using SocketServerFactory = std::function<std::unique_ptr<SocketServer>(
    const SocketServerPlan& plan, RequestHandler& handler, const Logger& log,
    const AccessLog& access)>;

/// Adds --bind, --socket-mode, --threads (`threads_help`: what a thread does in this
/// program), the process options (process_options.hpp), --max-requests and --user,
/// --group, --allow-root (privileges.hpp).
void add_socket_options(ArgParser& parser, SocketProgram& program, std::string threads_help);

/// True when there is a socket to serve without --bind: fd 0 is a listening socket
/// (spawn-fcgi, mod_fcgid) or systemd passed one to this process.
bool inherited_socket_present() noexcept;

/// Runs the program: binds `program.bind` (or takes the inherited socket), writes the
/// pidfile, drops to --user, imports the application, then serves the socket with a master and
/// workers (or one process with --no-master, or when a process manager handed over the socket: it
/// supervises). Returns the exit status. Throws UsageError, AppLoadError.
int serve_socket_program(SocketProgram& program, const Logger& log,
                         const SocketServerFactory& make_server);

} // namespace wsgibridge::cli
