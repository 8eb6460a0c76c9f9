#include "runtime/pidfile.hpp"

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <system_error>
#include <unistd.h>

namespace wsgibridge::runtime {

Pidfile::Pidfile(std::string path) : path_(std::move(path))
{
    if (path_.empty()) return;
    // Written to a temporary name and renamed: a reader never sees a half-written pid.
    std::string tmp = path_ + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "--pidfile " + path_);
    std::string text = std::to_string(::getpid()) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ok = ::close(fd) == 0 && ok;
    if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw std::system_error(err, std::generic_category(), "--pidfile " + path_);
    }
}

Pidfile::~Pidfile()
{
    if (!path_.empty()) ::unlink(path_.c_str());
}

} // namespace wsgibridge::runtime
