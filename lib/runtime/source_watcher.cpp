#include "runtime/source_watcher.hpp"

#include <algorithm>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace wsgibridge::runtime {

SourceWatcher::SourceWatcher(std::vector<std::string> files,
                             std::function<void(const std::string&)> on_change, const Logger& log)
    : files_(std::move(files)), on_change_(std::move(on_change)),
      inotify_(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK))
{
    if (!inotify_) {
        log.warning("--reload: inotify is unavailable; changes will not be seen");
        return;
    }
    for (const auto& file : files_) {
        std::string dir = file.substr(0, file.rfind('/'));
        if (std::any_of(dirs_.begin(), dirs_.end(), [&](auto& d) { return d.second == dir; }))
            continue;
        int wd = ::inotify_add_watch(inotify_.get(), dir.c_str(),
                                     IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE);
        if (wd >= 0) dirs_.emplace_back(wd, dir);
    }
    log.debug(
        concat("--reload: watching ", files_.size(), " files in ", dirs_.size(), " directories"));
    thread_ = std::jthread([this](std::stop_token stop) { watch(stop); });
}

SourceWatcher::~SourceWatcher()
{
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
}

void SourceWatcher::watch(std::stop_token stop)
{
    alignas(inotify_event) char buf[16 * 1024];
    while (!stop.stop_requested()) {
        pollfd p{inotify_.get(), POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
        for (ssize_t at = 0; n > 0 && at < n;) {
            auto* ev = reinterpret_cast<inotify_event*>(buf + at);
            at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
            if (ev->len == 0) continue;
            auto dir = std::find_if(dirs_.begin(), dirs_.end(),
                                    [&](auto& d) { return d.first == ev->wd; });
            if (dir == dirs_.end()) continue;
            std::string path = dir->second + "/" + ev->name;
            if (std::find(files_.begin(), files_.end(), path) == files_.end()) continue;
            on_change_(path);
            return; // once: the reload replaces this worker
        }
    }
}

} // namespace wsgibridge::runtime
