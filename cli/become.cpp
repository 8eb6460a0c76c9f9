#include "become.hpp"

namespace wsgibridge::cli {

std::unique_ptr<runtime::Pidfile> become(const std::optional<Identity>& identity,
                                         std::string& pidfile_path,
                                         std::span<const std::string> unix_sockets,
                                         const Logger& log, std::string_view log_prefix)
{
    // Written as root: the pidfile's directory (/run) is usually root's.
    auto pidfile = std::make_unique<runtime::Pidfile>(pidfile_path);
    pidfile_path.clear();
    if (identity) {
        // Only root may give the files away: before the drop. The web server reaches the
        // socket as --user/--group, with the --socket-mode the bind gave it.
        for (const auto& path : unix_sockets)
            if (!path.empty()) chown_socket(path, *identity);
        drop_privileges(*identity);
        log.info(concat(log_prefix, "running as ", describe(*identity)));
    }
    return pidfile;
}

} // namespace wsgibridge::cli
