#include "runtime/stats.hpp"

#include "net/listener.hpp"

#include <cstdio>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace wsgibridge::runtime {
namespace {

constexpr const char* class_names[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};

/// A live worker's slot: taken and forked (pid > 0).
template <typename F>
void for_each_worker(Slots& slots, F&& f)
{
    for (std::size_t i = 0; i < slots.size(); ++i) {
        Slot& s = slots[i];
        if (s.pid.load(std::memory_order_relaxed) > 0) f(s);
    }
}

std::string number(double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

void write_all(int fd, std::string_view data)
{
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) return;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

} // namespace

void MasterTotals::retire(const Slot& slot)
{
    requests += slot.requests.load();
    for (int i = 0; i < 6; ++i)
        by_class[i] += slot.by_class[i].load();
    for (int i = 0; i < 12; ++i)
        duration_buckets[i] += slot.duration_buckets[i].load();
    duration_sum_us += slot.duration_sum_us.load();
}

StatsServer::StatsServer(const std::string& address, Slots& slots, MasterTotals& totals,
                         const Logger& log)
    : slots_(slots), totals_(totals), log_(log), owned_(net::open_listener(address, 0600)),
      fd_(owned_.get()), pid_(::getpid())
{
    if (address.starts_with("unix:")) unix_path_ = address.substr(5);
    start();
}

StatsServer::StatsServer(int listen_fd, Slots& slots, MasterTotals& totals, const Logger& log)
    : slots_(slots), totals_(totals), log_(log), fd_(listen_fd), pid_(::getpid())
{
    start();
}

void StatsServer::start()
{
    // poll() then accept4(): without O_NONBLOCK the accept would block, and the stop
    // (request_stop, then join) with it, when the connection poll saw is gone by then.
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    log_.info(concat("--stats: serving JSON on http://", net::describe_local(fd_),
                     "/ and Prometheus metrics on /metrics"));
    thread_ = std::jthread([this](std::stop_token stop) { serve(stop); });
}

StatsServer::~StatsServer()
{
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
    if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

void StatsServer::serve(std::stop_token stop)
{
    while (!stop.stop_requested()) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        util::UniqueFd client(::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC));
        if (!client) continue;
        answer(client.get());
    }
}

void StatsServer::answer(int client) const
{
    // One request per connection; the request line is all that matters.
    std::string head;
    char buf[2048];
    while (head.find("\r\n") == std::string::npos && head.size() < 8192) {
        pollfd p{client, POLLIN, 0};
        if (::poll(&p, 1, 2000) <= 0) return;
        ssize_t n = ::recv(client, buf, sizeof buf, 0);
        if (n <= 0) return;
        head.append(buf, static_cast<std::size_t>(n));
    }
    std::string_view line(head.data(), head.find("\r\n"));
    auto sp1 = line.find(' ');
    auto sp2 = line.find(' ', sp1 + 1);
    std::string_view method = line.substr(0, sp1);
    std::string_view target =
        sp1 == std::string_view::npos ? std::string_view() : line.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));

    int status = 200;
    std::string type, body;
    if (method != "GET" && method != "HEAD") {
        status = 405;
        type = "text/plain";
        body = "405 Method Not Allowed\n";
    } else if (target == "/") {
        type = "application/json";
        body = json() + "\n";
    } else if (target == "/metrics") {
        type = "text/plain; version=0.0.4; charset=utf-8";
        body = metrics();
    } else {
        status = 404;
        type = "text/plain";
        body = "404 Not Found: GET / (JSON) or /metrics (Prometheus)\n";
    }
    std::string reply = concat("HTTP/1.1 ", status,
                               status == 200   ? " OK"
                               : status == 404 ? " Not Found"
                                               : " Method Not Allowed",
                               "\r\nContent-Type: ", type, "\r\nContent-Length: ", body.size(),
                               "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
    if (method != "HEAD") reply += body;
    write_all(client, reply);
    ::shutdown(client, SHUT_WR);
}

std::string StatsServer::json() const
{
    nlohmann::json workers = nlohmann::json::array();
    std::uint64_t requests = 0;
    for_each_worker(slots_, [&](Slot& s) {
        std::uint64_t n = s.requests.load(std::memory_order_relaxed);
        requests += n;
        workers.push_back({{"pid", s.pid.load(std::memory_order_relaxed)},
                           {"requests", n},
                           {"in_flight", s.in_flight.load(std::memory_order_relaxed)},
                           {"rss_bytes", s.rss_bytes.load(std::memory_order_relaxed)},
                           {"ready", s.ready.load(std::memory_order_relaxed) != 0},
                           {"started", static_cast<double>(s.started_ms.load()) / 1000.0}});
    });
    std::uint64_t retired = 0, restarts = 0;
    {
        std::lock_guard lock(totals_.mutex);
        retired = totals_.requests;
        restarts = totals_.worker_restarts;
    }
    nlohmann::json j = {
        {"pid", pid_},
        {"uptime_seconds",
         std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()},
        {"requests", requests},
        {"requests_total", requests + retired},
        {"workers", workers},
        {"worker_restarts", restarts}};
    return j.dump();
}

std::string StatsServer::metrics() const
{
    std::uint64_t by_class[6]{}, buckets[12]{}, sum_us = 0, in_flight = 0, restarts = 0;
    unsigned workers = 0;
    std::vector<std::pair<pid_t, std::uint64_t>> rss;
    {
        std::lock_guard lock(totals_.mutex);
        for (int i = 0; i < 6; ++i)
            by_class[i] = totals_.by_class[i];
        for (int i = 0; i < 12; ++i)
            buckets[i] = totals_.duration_buckets[i];
        sum_us = totals_.duration_sum_us;
        restarts = totals_.worker_restarts;
        for_each_worker(slots_, [&](Slot& s) {
            ++workers;
            for (int i = 0; i < 6; ++i)
                by_class[i] += s.by_class[i].load(std::memory_order_relaxed);
            for (int i = 0; i < 12; ++i)
                buckets[i] += s.duration_buckets[i].load(std::memory_order_relaxed);
            sum_us += s.duration_sum_us.load(std::memory_order_relaxed);
            in_flight += s.in_flight.load(std::memory_order_relaxed);
            rss.emplace_back(s.pid.load(std::memory_order_relaxed),
                             s.rss_bytes.load(std::memory_order_relaxed));
        });
    }
    std::string out;
    out += "# HELP wsgibridge_requests_total Requests answered, by status class.\n"
           "# TYPE wsgibridge_requests_total counter\n";
    for (int i = 1; i <= 5; ++i)
        out +=
            concat("wsgibridge_requests_total{class=\"", class_names[i], "\"} ", by_class[i], "\n");
    out += concat("wsgibridge_requests_total{class=\"other\"} ", by_class[0], "\n");

    out += "# HELP wsgibridge_request_duration_seconds Time from the request to the end of its "
           "response.\n# TYPE wsgibridge_request_duration_seconds histogram\n";
    std::uint64_t cumulative = 0;
    for (int i = 0; i < 12; ++i) {
        cumulative += buckets[i];
        std::string le = i < 11 ? number(duration_bounds[i]) : "+Inf";
        out += concat("wsgibridge_request_duration_seconds_bucket{le=\"", le, "\"} ", cumulative,
                      "\n");
    }
    out += concat("wsgibridge_request_duration_seconds_sum ",
                  number(static_cast<double>(sum_us) / 1e6), "\n");
    out += concat("wsgibridge_request_duration_seconds_count ", cumulative, "\n");

    out += concat("# HELP wsgibridge_requests_in_flight Requests being served now.\n"
                  "# TYPE wsgibridge_requests_in_flight gauge\nwsgibridge_requests_in_flight ",
                  in_flight, "\n");
    out += concat("# HELP wsgibridge_workers Worker processes alive.\n"
                  "# TYPE wsgibridge_workers gauge\nwsgibridge_workers ",
                  workers, "\n");
    out += concat("# HELP wsgibridge_worker_restarts_total Workers started to replace one that "
                  "exited or retired.\n# TYPE wsgibridge_worker_restarts_total counter\n"
                  "wsgibridge_worker_restarts_total ",
                  restarts, "\n");
    out += "# HELP wsgibridge_worker_rss_bytes Resident memory of each worker after its last "
           "request.\n# TYPE wsgibridge_worker_rss_bytes gauge\n";
    for (auto [pid, bytes] : rss)
        out += concat("wsgibridge_worker_rss_bytes{pid=\"", pid, "\"} ", bytes, "\n");
    return out;
}

} // namespace wsgibridge::runtime
