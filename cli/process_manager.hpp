// What the process managers hand wsgi-fcgi (SPEC-TRAPS §3.6): a listening socket on
// fd 0 (mod_fcgid, spawn-fcgi), systemd's LISTEN_FDS/LISTEN_PID, spawn-fcgi's
// PHP_FCGI_CHILDREN. Each reader removes the variable it consumed, so the application
// and its child processes never act on it again.
#pragma once

#include "wsgibridge/log.hpp"

namespace wsgibridge::cli {

/// fd 0 as mod_fcgid and spawn-fcgi leave it: a listening socket (getsockname works,
/// getpeername says ENOTCONN). A connected socket or a pipe is not one.
bool fd0_is_listening_socket() noexcept;

/// systemd socket activation meant for this process (LISTEN_PID is our pid).
bool systemd_listen_fd_present() noexcept;

/// The first socket systemd passed (fd 3), or -1; unsets LISTEN_PID, LISTEN_FDS and
/// LISTEN_FDNAMES.
int systemd_listen_fd() noexcept;

/// spawn-fcgi -C N exports PHP_FCGI_CHILDREN=N for a server that forks N children on
/// the socket it was given (PHP does); 0 means "serve in this process". Returns the
/// number of processes to run (1 when unset or invalid, with a warning) and unsets it.
unsigned php_fcgi_children(const Logger& log);

} // namespace wsgibridge::cli
