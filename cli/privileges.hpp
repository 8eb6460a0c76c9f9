// --user, --group and --allow-root for the server programs (wsgi-http, wsgi-fcgi,
// wsgi-scgi, wsgi-uwsgi): started as root, a program binds its socket (port 80, a socket
// in a root-owned directory), writes its pidfile and reads its TLS key, then drops to the
// user for good (supplementary groups, gid, uid: the order setuid(2) needs) before the
// interpreter starts, so neither the application nor a worker ever runs as root. The
// model is gunicorn's --user/--group and uWSGI's --uid/--gid; like nginx, what needs
// root happens first and nothing after the drop can get root back.
//
// Running the application as root is refused unless --allow-root asks for it.
#pragma once

#include "options.hpp"

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wsgibridge::cli {

struct PrivilegeOptions
{
    std::string user;        ///< --user NAME|UID ("" = none)
    std::string group;       ///< --group NAME|GID ("" = the user's primary group)
    bool allow_root = false; ///< --allow-root
};

/// Adds --user, --group and --allow-root.
void add_privilege_options(ArgParser& parser, PrivilegeOptions& options);

/// Who the program becomes after binding.
struct Identity
{
    std::string user; ///< the user's name (for initgroups and log lines), or the number
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups; ///< supplementary groups (the user's, as initgroups sets them)
};

/// Decides what --user/--group mean for this process. Returns the identity to drop to,
/// or nullopt when nothing changes: not root (and --user/--group name this process's own
/// user and group), or root with --allow-root and no --user. Throws UsageError for an
/// unknown user or group, --group without --user, --user while not root naming another
/// user, and for root without --user and without --allow-root (or --user root without
/// --allow-root).
std::optional<Identity> plan_privileges(const PrivilegeOptions& options);

/// Gives the unix socket file at `path` to the identity's user and group (before the
/// drop: only root can). Throws std::system_error naming --user.
void chown_socket(const std::string& path, const Identity& identity);

/// setgroups, setgid, setuid, then checks that the process is the identity and that
/// setuid(0) fails. Throws std::system_error (or std::runtime_error when root could be
/// regained): the caller must not go on.
void drop_privileges(const Identity& identity);

/// "uid 65534 (nobody), gid 65534": for the log line after the drop.
std::string describe(const Identity& identity);

} // namespace wsgibridge::cli
