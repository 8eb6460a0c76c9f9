// What a server program does once its socket is bound and before the interpreter starts,
// the same for wsgi-http and the socket programs (wsgi-fcgi, wsgi-scgi, wsgi-uwsgi), in
// nginx's order: write the pidfile, give the unix sockets to --user/--group, drop to them,
// say so in the log.
#pragma once

#include "privileges.hpp"
#include "runtime/pidfile.hpp"
#include "wsgibridge/log.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace wsgibridge::cli {

/// Writes --pidfile `pidfile_path` ("" = none) and clears it (run_workers must not write
/// it again). With an identity (plan_privileges), and still as root: chowns each unix
/// socket file of `unix_sockets` (the main socket's and --stats'; "" for TCP or an
/// inherited socket; their modes were set at bind), drops privileges for good and logs
/// "<log_prefix>running as uid ... (name), gid ...". The returned pidfile removes its
/// file when it goes: keep it for the life of the process. Throws what Pidfile,
/// chown_socket and drop_privileges throw; the caller must not go on.
[[nodiscard]] std::unique_ptr<runtime::Pidfile>
become(const std::optional<Identity>& identity, std::string& pidfile_path,
       std::span<const std::string> unix_sockets, const Logger& log, std::string_view log_prefix);

} // namespace wsgibridge::cli
