// The process-model options wsgi-http and standalone wsgi-fcgi share: --workers,
// --no-master, --preload, --graceful-timeout, --pidfile (see workers.hpp for what the
// master does with them).
#pragma once

#include "options.hpp"
#include "wsgibridge/listener.hpp"
#include "wsgibridge/workers.hpp"

#include <optional>

namespace wsgibridge::cli {

struct ProcessOptions
{
    WorkerOptions workers;
    /// --preload: import the application in the master, then fork (copy-on-write memory,
    /// but SIGHUP cannot pick up changed code). Default: each worker imports it.
    bool preload = false;
    /// --log-format json: error and access lines as JSON objects.
    bool json_logs = false;
};

void add_process_options(ArgParser& parser, ProcessOptions& options);
/// Throws UsageError for combinations that cannot work (--no-master with --workers > 1).
void check_process_options(const ProcessOptions& options);

/// --stats with a master: binds its socket now, where the program binds its main socket
/// (as root, before --user drops privileges: a unix socket under /run needs root, as a
/// port below 1024 does), and hands it to the master (options.workers.stats_fd). Keep the
/// returned Listener for the life of the process: it closes the socket and removes its
/// file. nullopt without --stats or without a master. Throws UsageError for a malformed
/// address, std::system_error when it cannot be bound.
std::optional<Listener> open_stats_socket(ProcessOptions& options);

} // namespace wsgibridge::cli
