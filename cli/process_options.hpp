// The process-model options wsgi-http and standalone wsgi-fcgi share: --workers,
// --no-master, --preload, --graceful-timeout, --pidfile (see workers.hpp for what the
// master does with them).
#pragma once

#include "options.hpp"
#include "wsgibridge/workers.hpp"

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

} // namespace wsgibridge::cli
