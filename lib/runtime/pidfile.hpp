// --pidfile: the file is written at start with the pid of the process signals go to
// and removed when that process exits, whatever way run_workers() returns.
#pragma once

#include "wsgibridge/log.hpp"

#include <string>

namespace wsgibridge::runtime {

class Pidfile
{
public:
    /// Writes getpid() to `path` ("" = no file). Throws std::system_error when it cannot.
    explicit Pidfile(std::string path);
    ~Pidfile();
    Pidfile(const Pidfile&) = delete;
    Pidfile& operator=(const Pidfile&) = delete;

private:
    std::string path_;
};

} // namespace wsgibridge::runtime
