// --reload (development): a worker watches the .py files its application imported
// (inotify on their directories, so editors that save by rename are seen too) and asks
// the master for a graceful reload (SIGHUP) when one changes.
#pragma once

#include "util/unique_fd.hpp"
#include "wsgibridge/log.hpp"

#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace wsgibridge::runtime {

class SourceWatcher
{
public:
    /// Watches `files`; calls `on_change` (on the watcher's thread) once, at the first
    /// change, with the file's path.
    SourceWatcher(std::vector<std::string> files, std::function<void(const std::string&)> on_change,
                  const Logger& log);
    ~SourceWatcher();
    SourceWatcher(const SourceWatcher&) = delete;
    SourceWatcher& operator=(const SourceWatcher&) = delete;

private:
    void watch(std::stop_token stop);

    std::vector<std::string> files_;
    std::function<void(const std::string&)> on_change_;
    util::UniqueFd inotify_;
    std::vector<std::pair<int, std::string>> dirs_; ///< watch descriptor, directory
    std::jthread thread_;
};

} // namespace wsgibridge::runtime
