// WorkerHandler: per-request counters in the shared slot, --max-requests(-jitter),
// --reload-on-rss, and the --timeout watchdog (a plain thread, no Python).
#include "runtime/slots.hpp"
#include "runtime/source_watcher.hpp"
#include "wsgibridge/error.hpp"
#include "wsgibridge/workers.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <optional>
#include <pthread.h>
#include <random>
#include <signal.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace wsgibridge {
namespace {

using Clock = std::chrono::steady_clock;

/// The signal faulthandler dumps every Python thread's traceback on (--timeout).
constexpr int traceback_signal = SIGUSR2;

std::uint64_t current_rss() noexcept
{
    // statm's second field: resident pages.
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, resident = 0;
    int n = std::fscanf(f, "%lu %lu", &size, &resident);
    std::fclose(f);
    return n == 2 ? resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

/// Forwards to the server's sink and remembers what the watchdog and counters need.
/// Whoever starts the response first (the application, or the watchdog with a 504)
/// owns it; the other one's start() fails.
class ObservedSink final : public ResponseSink
{
public:
    explicit ObservedSink(ResponseSink& inner) : inner_(inner) {}

    enum : int { idle, app, watchdog };

    std::error_code start(const ResponseHead& head) override
    {
        int expected = idle;
        if (!owner.compare_exchange_strong(expected, app))
            return std::make_error_code(std::errc::timed_out);
        status = head.status_code;
        return inner_.start(head);
    }
    std::error_code write(std::span<const char> data) override
    {
        if (owner.load(std::memory_order_relaxed) == watchdog)
            return std::make_error_code(std::errc::timed_out);
        bytes += data.size();
        return inner_.write(data);
    }
    std::error_code send_file(int fd, std::uint64_t offset, std::uint64_t count) override
    {
        if (owner.load(std::memory_order_relaxed) == watchdog)
            return std::make_error_code(std::errc::timed_out);
        bytes += count;
        return inner_.send_file(fd, offset, count);
    }
    std::error_code finish() override
    {
        if (owner.load(std::memory_order_relaxed) == watchdog)
            return std::make_error_code(std::errc::timed_out);
        return inner_.finish();
    }
    /// One forward (and one ownership check) for the whole response, so the server's
    /// own respond() still sees it in one call.
    std::error_code respond(const ResponseHead& head, std::span<const char> body) override
    {
        int expected = idle;
        if (!owner.compare_exchange_strong(expected, app))
            return std::make_error_code(std::errc::timed_out);
        status = head.status_code;
        if (head.body_allowed) bytes += body.size();
        return inner_.respond(head, body);
    }
    void abort(std::string_view reason) override
    {
        if (owner.load(std::memory_order_relaxed) != watchdog) inner_.abort(reason);
    }
    bool write_error(std::string_view text) override { return inner_.write_error(text); }
    bool client_gone() const noexcept override { return inner_.client_gone(); }

    /// From the watchdog: answers 504 if the application has sent nothing yet.
    bool answer_timeout()
    {
        int expected = idle;
        if (!owner.compare_exchange_strong(expected, watchdog)) return false;
        static constexpr std::string_view body = "504 Gateway Timeout: the application did not "
                                                 "answer within --timeout\n";
        static constexpr Header headers[] = {{"Content-Type", "text/plain; charset=utf-8"}};
        ResponseHead head;
        head.status_code = 504;
        head.status = "504 Gateway Timeout";
        head.headers = headers;
        head.content_length = body.size();
        head.content_length_computed = true;
        if (inner_.start(head)) return false;
        if (inner_.write(body)) return false;
        return !inner_.finish();
    }

    std::atomic<int> owner{idle};
    int status = 0;
    std::uint64_t bytes = 0;

private:
    ResponseSink& inner_;
};

/// A request being served, watched by the --timeout watchdog.
struct InFlight
{
    std::atomic<bool> taken{false};
    std::atomic<std::int64_t> started_ns{0}; ///< 0: not (yet) watched
    ObservedSink* sink = nullptr;
    char line[256]{}; ///< "GET /path?query"
};

/// --health: answered here, the application is not called.
void answer_health(const Request& req, ResponseSink& sink, bool stopping)
{
    static constexpr Header headers[] = {{"Content-Type", "text/plain"},
                                         {"Cache-Control", "no-store"}};
    std::string_view body = stopping ? "stopping\n" : "ok\n";
    ResponseHead head;
    head.status_code = stopping ? 503 : 200;
    head.status = stopping ? "503 Service Unavailable" : "200 OK";
    head.headers = headers;
    head.content_length = body.size();
    head.content_length_computed = true;
    head.body_allowed = req.method != "HEAD";
    if (sink.start(head)) return;
    if (head.body_allowed && sink.write(body)) return;
    sink.finish();
}

std::int64_t now_ns()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

} // namespace

struct WorkerHandler::Impl
{
    Impl(RequestHandler& inner, Interpreter& interpreter, const WorkerOptions& options,
         const Logger& log, const AccessLog* json_access)
        : inner(inner), options(options), log(log), json_access(json_access),
          slot(runtime::Slots::current())
    {
        if (options.max_requests > 0) {
            std::uniform_int_distribution<std::uint64_t> jitter(0, options.max_requests_jitter);
            std::random_device seed;
            std::mt19937_64 rng(seed() ^ static_cast<std::uint64_t>(::getpid()));
            retire_after = options.max_requests + jitter(rng);
        }
        if (options.timeout.count() > 0) {
            // The dump must work while a thread is stuck holding the GIL: faulthandler
            // writes from its signal handler without taking it.
            if (!interpreter.dump_tracebacks_on(traceback_signal, log.fd()))
                log.warning("--timeout: cannot register faulthandler; no traceback on timeout");
            watchdog = std::jthread([this](std::stop_token stop) { watch(stop); });
        }
        if (options.reload) {
            pid_t master = ::getppid();
            sources.emplace(
                interpreter.application_files(),
                [this, master](const std::string& path) {
                    this->log.info(
                        concat("--reload: ", path, " changed; asking the master to reload"));
                    ::kill(master, SIGHUP);
                },
                log);
        }
    }

    void watch(std::stop_token stop);
    void on_timeout(InFlight& entry);
    void retire(std::string_view why);

    RequestHandler& inner;
    const WorkerOptions& options;
    const Logger& log;
    const AccessLog* json_access;
    runtime::Slot* slot;
    std::uint64_t retire_after = 0;
    std::atomic<std::uint64_t> served{0};
    std::atomic<bool> retiring{false};
    std::array<InFlight, 64> in_flight;            ///< more threads than this go unwatched
    std::optional<runtime::SourceWatcher> sources; ///< --reload
    std::jthread watchdog;                         ///< last: joined before the rest goes
};

void WorkerHandler::Impl::watch(std::stop_token stop)
{
    auto tick = std::clamp(options.timeout / 10, std::chrono::milliseconds(10),
                           std::chrono::milliseconds(500));
    const std::int64_t limit =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options.timeout).count();
    while (!stop.stop_requested()) {
        std::this_thread::sleep_for(tick);
        std::int64_t now = now_ns();
        for (auto& entry : in_flight) {
            std::int64_t started = entry.started_ns.load(std::memory_order_acquire);
            if (started != 0 && now - started > limit) on_timeout(entry);
        }
    }
}

void WorkerHandler::Impl::on_timeout(InFlight& entry)
{
    // The stuck thread cannot be interrupted safely (it may hold the GIL in C code), so
    // the worker ends: answer the client, show where the application was, exit, and the
    // master starts a fresh worker. alarm() bounds what follows if a sink blocks.
    ::alarm(5);
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g",
                  static_cast<double>(options.timeout.count()) / 1000.0);
    log.error(concat("request timed out (--timeout ", seconds, " s): ", entry.line, "; worker ",
                     ::getpid(), " exits; the traceback of its Python threads follows"));
    // Delivered to this thread before pthread_kill returns: the dump is complete after.
    ::pthread_kill(::pthread_self(), traceback_signal);
    bool answered = entry.sink && entry.sink->answer_timeout();
    if (!answered) log.error("the response had started: the connection is closed instead of a 504");
    std::_Exit(worker_exit_timeout);
}

void WorkerHandler::Impl::retire(std::string_view why)
{
    if (retiring.exchange(true)) return;
    log.info(
        concat("worker ", ::getpid(), " retires after ", served.load(), " requests (", why, ")"));
    ::kill(::getpid(), SIGTERM); // the server's graceful stop
}

WorkerHandler::WorkerHandler(RequestHandler& inner, Interpreter& interpreter,
                             const WorkerOptions& options, const Logger& log,
                             const AccessLog* json_access)
    : impl_(std::make_unique<Impl>(inner, interpreter, options, log, json_access))
{
}

WorkerHandler::~WorkerHandler() = default;

void WorkerHandler::handle(const Request& req, BodySource& body, ResponseSink& sink) noexcept
{
    Impl& d = *impl_;
    if (!d.options.health.empty() &&
        req.target.substr(0, req.target.find('?')) == d.options.health) {
        bool stopping = d.retiring.load(std::memory_order_relaxed) ||
                        (d.slot && d.slot->stopping.load(std::memory_order_relaxed) != 0);
        return answer_health(req, sink, stopping);
    }
    ObservedSink observed(sink);
    // Read only for the access log and the --stats histogram.
    auto started = d.json_access || d.slot ? Clock::now() : Clock::time_point{};
    if (d.slot) d.slot->in_flight.fetch_add(1, std::memory_order_relaxed);

    InFlight* entry = nullptr;
    if (d.watchdog.joinable()) {
        for (auto& e : d.in_flight) {
            bool expected = false;
            if (e.taken.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
                entry = &e;
                break;
            }
        }
        if (entry) {
            std::snprintf(entry->line, sizeof entry->line, "%.*s %.*s",
                          static_cast<int>(req.method.size()), req.method.data(),
                          static_cast<int>(std::min<std::size_t>(req.target.size(), 200)),
                          req.target.data());
            entry->sink = &observed;
            entry->started_ns.store(now_ns(), std::memory_order_release);
        }
    }

    d.inner.handle(req, body, observed);

    if (entry) {
        entry->started_ns.store(0, std::memory_order_release);
        entry->sink = nullptr;
        entry->taken.store(false, std::memory_order_release);
    }
    std::uint64_t n = d.served.fetch_add(1, std::memory_order_relaxed) + 1;
    if (d.json_access) {
        // No response from the handler: the server answers 500 itself.
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
        d.json_access->log_json(req, observed.status ? observed.status : 500, observed.bytes, ms);
    }
    if (auto* slot = d.slot) {
        auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
        double seconds = static_cast<double>(us) / 1e6;
        std::size_t bucket = 0;
        while (bucket < std::size(runtime::duration_bounds) &&
               seconds > runtime::duration_bounds[bucket])
            ++bucket;
        slot->duration_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
        slot->duration_sum_us.fetch_add(static_cast<std::uint64_t>(us), std::memory_order_relaxed);
        int cls = observed.status / 100;
        slot->by_class[cls >= 1 && cls <= 5 ? cls : 0].fetch_add(1, std::memory_order_relaxed);
        slot->in_flight.fetch_sub(1, std::memory_order_relaxed);
        slot->requests.fetch_add(1, std::memory_order_relaxed);
    }
    if (d.retire_after > 0 && n >= d.retire_after) d.retire("--max-requests");
    // --reload-on-rss checks after every request (the one that grew the worker is the
    // last); for --stats alone every 64th is enough. getrusage's peak is one cheap
    // syscall; /proc is read only when the peak passed the limit.
    bool check_rss = d.options.reload_on_rss_bytes > 0;
    if (check_rss || (d.slot && n % 64 == 1)) {
        rusage ru{};
        ::getrusage(RUSAGE_SELF, &ru);
        std::uint64_t peak = static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;
        std::uint64_t rss = 0;
        if (check_rss && peak > d.options.reload_on_rss_bytes) {
            rss = current_rss();
            if (rss > d.options.reload_on_rss_bytes)
                d.retire(concat("--reload-on-rss: resident ", rss / (1024 * 1024), " MB"));
        }
        if (d.slot) d.slot->rss_bytes.store(rss ? rss : peak, std::memory_order_relaxed);
    }
}

} // namespace wsgibridge
