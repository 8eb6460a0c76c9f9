// --stats ADDR: a tiny HTTP/1.0 endpoint in the master, on its own thread (no Python):
//   GET /         JSON: pid, uptime_seconds, requests, requests_total, workers[], worker_restarts
//   GET /metrics  Prometheus text exposition format 0.0.4
// It reads the workers' shared slots; the workers never wait for it.
#pragma once

#include "runtime/slots.hpp"
#include "util/unique_fd.hpp"
#include "wsgibridge/log.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

namespace wsgibridge::runtime {

/// What the master adds to the slots: counts of workers that are gone, so counters
/// stay monotonic when a worker is replaced. Updated under `mutex` (the master is not
/// on the request path).
struct MasterTotals
{
    std::mutex mutex;
    std::uint64_t requests = 0;
    std::uint64_t by_class[6]{};
    std::uint64_t duration_buckets[12]{};
    std::uint64_t duration_sum_us = 0;
    std::uint64_t worker_restarts = 0;

    /// Adds a slot whose worker is gone; call with `mutex` held, and release the slot
    /// before letting go of it (a scrape never counts a worker twice or not at all).
    void retire(const Slot& slot);
};

class StatsServer
{
public:
    /// Binds `address` (HOST:PORT or unix:PATH); throws like open_listener(). The socket
    /// (and its unix socket file) is this server's.
    StatsServer(const std::string& address, Slots& slots, MasterTotals& totals, const Logger& log);
    /// Serves `listen_fd`, a listening socket the program bound before dropping
    /// privileges (WorkerOptions::stats_fd): borrowed, its owner closes it and removes
    /// its file.
    StatsServer(int listen_fd, Slots& slots, MasterTotals& totals, const Logger& log);
    ~StatsServer();
    StatsServer(const StatsServer&) = delete;
    StatsServer& operator=(const StatsServer&) = delete;

    int fd() const noexcept { return fd_; } ///< closed in forked workers
    std::string json() const;
    std::string metrics() const;

private:
    void start();
    void serve(std::stop_token stop);
    void answer(int client) const;

    Slots& slots_;
    MasterTotals& totals_;
    const Logger& log_;
    util::UniqueFd owned_;  ///< the socket bound here (the address constructor)
    int fd_ = -1;           ///< the socket served: owned_'s or a borrowed one
    std::string unix_path_; ///< owned_'s unix socket file, removed with it
    pid_t pid_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::jthread thread_; ///< last: stopped and joined first
};

} // namespace wsgibridge::runtime
