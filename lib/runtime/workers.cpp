// The master: forks workers, reaps them, replaces the dead, relays stop and reload
// signals. It handles signals synchronously (blocked, then sigtimedwait) so that no
// code runs in a signal handler, and it never touches a request.
#include "wsgibridge/workers.hpp"

#include "runtime/pidfile.hpp"
#include "runtime/slots.hpp"
#include "runtime/stats.hpp"
#include "wsgibridge/wsgi_app.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace wsgibridge {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int master_signals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD, SIGUSR1};

/// The mask before prepare_master_signals(): what workers get back.
sigset_t original_mask;
bool signals_prepared = false;
/// worker_generation(): set in each forked worker.
unsigned current_generation = 0;

sigset_t master_signal_set()
{
    sigset_t set;
    sigemptyset(&set);
    for (int sig : master_signals)
        sigaddset(&set, sig);
    return set;
}

std::string signal_name(int sig)
{
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev ? concat("SIG", abbrev) : concat("signal ", sig);
}

std::string describe(int status)
{
    if (WIFEXITED(status)) return concat("exited with status ", WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return concat("killed by signal ", WTERMSIG(status), " (", signal_name(WTERMSIG(status)),
                      ")");
    return "stopped";
}

struct Worker
{
    pid_t pid;
    runtime::Slot* slot;
    unsigned generation;
    bool retiring = false;          ///< sent SIGTERM: finishing its in-flight requests
    Clock::time_point kill_at = {}; ///< when retiring: SIGKILL past this
};

class Master
{
public:
    Master(Interpreter& interpreter, const WorkerOptions& options,
           const std::function<int()>& serve, const Logger& log)
        : interpreter_(interpreter), options_(options), serve_(serve), log_(log),
          slots_(options.workers * 2)
    {
    }

    int run();

private:
    void spawn();
    void reap();
    void on_exit(Worker w, int status);
    void retire(Worker& w);
    void begin_stop(int sig);
    void kill_overdue();
    void finish_reload();
    unsigned serving_count() const; ///< workers of the current generation not retiring
    int give_up(int status);

    Interpreter& interpreter_;
    const WorkerOptions& options_;
    const std::function<int()>& serve_;
    const Logger& log_;
    runtime::Slots slots_;
    runtime::MasterTotals totals_;
    std::optional<runtime::StatsServer> stats_;
    sigset_t blocked_{}, previous_{};
    std::vector<Worker> workers_;
    unsigned generation_ = 1;
    bool reloading_ = false;
    bool stopping_ = false;
    bool ever_ready_ = false;
    unsigned boot_failures_ = 0;
    int exit_status_ = 0;
    pid_t master_pid_ = 0;
    std::string load_error_; ///< the first workers could not import the application
    Clock::time_point next_spawn_ = {};
};

void Master::spawn()
{
    runtime::Slot* slot = slots_.acquire();
    if (!slot) return; // every slot taken by workers still finishing: wait for one
    master_pid_ = ::getpid();
    pid_t pid = interpreter_.fork();
    if (pid < 0) {
        log_.error(concat("cannot fork a worker: ", std::strerror(errno)));
        slots_.release(slot);
        next_spawn_ = Clock::now() + std::chrono::seconds(1);
        return;
    }
    if (pid == 0) {
        // The child serves with default dispositions and nothing blocked: the servers
        // install their own graceful stop on SIGTERM/SIGINT.
        for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGCHLD, SIGUSR1})
            ::signal(sig, SIG_DFL);
        // A reload is the master's business: a SIGHUP sent to the whole process group (a
        // terminal hanging up, `kill -HUP -PGID`) must not kill the workers.
        ::signal(SIGHUP, SIG_IGN);
        ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
        if (stats_) ::close(stats_->fd()); // the master's alone
        // A master that is killed (SIGKILL, OOM) takes its workers along: they stop
        // gracefully instead of serving on as orphans nobody supervises.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != master_pid_) std::_Exit(0);
        runtime::Slots::adopt(slot);
        current_generation = generation_;
        int status = 1;
        try {
            status = serve_();
        } catch (const AppLoadError& e) {
            std::string_view what = e.what();
            what = what.substr(0, sizeof slot->load_error - 1);
            std::copy(what.begin(), what.end(), slot->load_error);
            slot->load_error[what.size()] = '\0';
            status = worker_exit_app_load;
        } catch (const std::exception& e) {
            log_.error(concat("worker ", ::getpid(), " failed: ", e.what()));
        }
        std::_Exit(status); // no atexit/static destructors of the master's copy
    }
    slot->pid.store(pid, std::memory_order_relaxed);
    workers_.push_back({pid, slot, generation_});
    log_.info(concat("worker ", pid, " started"));
}

unsigned Master::serving_count() const
{
    return static_cast<unsigned>(std::count_if(workers_.begin(), workers_.end(), [&](auto& w) {
        return w.generation == generation_ && !w.retiring;
    }));
}

void Master::retire(Worker& w)
{
    if (w.retiring) return;
    w.retiring = true;
    w.slot->stopping.store(1);
    w.kill_at = Clock::now() + options_.graceful_timeout;
    ::kill(w.pid, SIGTERM);
}

int Master::give_up(int status)
{
    for (auto& w : workers_)
        retire(w);
    stopping_ = true;
    exit_status_ = status;
    return status;
}

void Master::on_exit(Worker w, int status)
{
    bool was_ready = w.slot->ready.load(std::memory_order_relaxed) != 0;
    std::string load_error = w.slot->load_error;
    bool replaced = !stopping_ && !w.retiring && !(reloading_ && w.generation == generation_);
    {
        std::lock_guard lock(totals_.mutex);
        totals_.retire(*w.slot);
        if (replaced) ++totals_.worker_restarts;
        slots_.release(w.slot);
    }
    if (stopping_ || w.retiring) {
        log_.info(concat("worker ", w.pid, " ", describe(status)));
        return;
    }
    if (was_ready) {
        // It served: a crash in the application (os.abort(), a segfault in an extension)
        // or --max-requests. Replace it at once.
        boot_failures_ = 0;
        bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        bool timed_out = WIFEXITED(status) && WEXITSTATUS(status) == worker_exit_timeout;
        log_.log(clean ? LogLevel::info : LogLevel::error,
                 concat("worker ", w.pid, " ", describe(status),
                        timed_out ? " (a request passed --timeout)" : "", "; starting a new one"));
        return;
    }
    // Died before it could serve: the application does not import, the socket is
    // unusable... Forking again at once would spin.
    if (reloading_ && w.generation == generation_) {
        log_.error(concat("reload failed: new worker ", w.pid, " ", describe(status),
                          " before it was ready; keeping the old workers (fix the application "
                          "and send SIGHUP again)"));
        reloading_ = false;
        for (auto& other : workers_)
            if (other.generation == generation_) retire(other);
        --generation_;
        return;
    }
    bool app_load = WIFEXITED(status) && WEXITSTATUS(status) == worker_exit_app_load;
    if (app_load && !ever_ready_) {
        load_error_ = load_error;
        log_.error(concat("worker ", w.pid, " could not load the application; stopping (exit ",
                          worker_exit_app_load, ")"));
        give_up(worker_exit_app_load);
        return;
    }
    ++boot_failures_;
    if (boot_failures_ >= options_.max_boot_failures) {
        log_.error(concat("workers failed to start ", boot_failures_,
                          " times in a row (last: ", w.pid, " ", describe(status), "); stopping"));
        give_up(app_load ? worker_exit_app_load : 1);
        return;
    }
    auto backoff = std::chrono::milliseconds(100) * (1 << std::min(boot_failures_, 4u));
    log_.error(concat("worker ", w.pid, " ", describe(status), " before it was ready; retrying in ",
                      backoff.count(), " ms"));
    next_spawn_ = Clock::now() + backoff;
}

void Master::reap()
{
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        auto it = std::find_if(workers_.begin(), workers_.end(),
                               [pid](const Worker& w) { return w.pid == pid; });
        if (it == workers_.end()) continue;
        Worker w = *it;
        workers_.erase(it);
        on_exit(w, status);
    }
}

void Master::begin_stop(int sig)
{
    if (!stopping_)
        log_.info(concat("master ", ::getpid(), ": ", signal_name(sig),
                         ": stopping workers (they finish in-flight requests)"));
    stopping_ = true;
    for (auto& w : workers_)
        retire(w);
}

void Master::kill_overdue()
{
    auto now = Clock::now();
    for (auto& w : workers_) {
        if (w.retiring && w.kill_at != Clock::time_point{} && now >= w.kill_at) {
            log_.warning(concat("worker ", w.pid, " still busy after --graceful-timeout (",
                                options_.graceful_timeout.count() / 1000, " s): killing it"));
            ::kill(w.pid, SIGKILL);
            w.kill_at = {};
        }
    }
}

void Master::finish_reload()
{
    unsigned ready = 0;
    for (auto& w : workers_)
        if (w.generation == generation_ && !w.retiring && w.slot->ready.load() != 0) ++ready;
    if (ready < options_.workers) return;
    // Every new worker accepts now: the old ones may stop accepting. Their kept-alive
    // connections are closed once idle, their in-flight requests finish.
    unsigned old = 0;
    for (auto& w : workers_)
        if (w.generation != generation_ && !w.retiring) {
            retire(w);
            ++old;
        }
    reloading_ = false;
    log_.info(concat("reload: ", ready, " new workers ready; ", old,
                     " old workers finishing their in-flight requests"));
}

int Master::run()
{
    blocked_ = master_signal_set();
    ::sigprocmask(SIG_BLOCK, &blocked_, &previous_);
    if (signals_prepared) previous_ = original_mask;

    if (options_.stats_fd >= 0)
        stats_.emplace(options_.stats_fd, slots_, totals_, log_);
    else if (!options_.stats.empty())
        stats_.emplace(options_.stats, slots_, totals_, log_);
    log_.info(concat("master ", ::getpid(), ": starting ", options_.workers, " workers"));
    for (;;) {
        if (!stopping_) {
            while (serving_count() < options_.workers && Clock::now() >= next_spawn_) {
                auto before = workers_.size();
                spawn();
                if (workers_.size() == before) break;
            }
        }
        timespec tick{0, 100'000'000};
        siginfo_t info{};
        int sig = ::sigtimedwait(&blocked_, &info, &tick);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGUSR1) {
            begin_stop(sig);
        } else if (sig == SIGQUIT) {
            log_.info(concat("master ", ::getpid(), ": SIGQUIT: killing workers"));
            stopping_ = true;
            for (auto& w : workers_)
                ::kill(w.pid, SIGKILL);
        } else if (sig == SIGHUP && !stopping_) {
            auto sender = std::find_if(workers_.begin(), workers_.end(),
                                       [&](const Worker& w) { return w.pid == info.si_pid; });
            bool from_worker = info.si_code == SI_USER && sender != workers_.end();
            if (from_worker &&
                (reloading_ || sender->generation != generation_ || sender->retiring)) {
                // --reload: every worker sees the same change; one reload is enough.
            } else if (reloading_) {
                log_.warning("SIGHUP: a reload is already under way; ignored");
            } else {
                // A new generation: serving_count() drops to 0, the loop forks it.
                ++generation_;
                reloading_ = true;
                next_spawn_ = {};
                log_.info(concat("master ", ::getpid(), ": SIGHUP: starting ", options_.workers,
                                 " new workers"));
            }
        }
        reap();
        for (auto& w : workers_)
            if (!ever_ready_ && w.slot->ready.load() != 0) {
                ever_ready_ = true;
                boot_failures_ = 0;
            }
        if (reloading_) finish_reload();
        kill_overdue();
        if (stopping_ && workers_.empty()) break;
    }
    ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
    log_.info(concat("master ", ::getpid(), ": stopped"));
    // The same one-line reason and exit 3 as an import in this process (--preload).
    if (!load_error_.empty()) throw AppLoadError(load_error_);
    return exit_status_;
}

} // namespace

unsigned worker_generation() noexcept
{
    return current_generation;
}

void prepare_master_signals() noexcept
{
    if (signals_prepared) return;
    sigset_t set = master_signal_set();
    ::sigprocmask(SIG_BLOCK, &set, &original_mask);
    signals_prepared = true;
}

int run_workers(Interpreter& interpreter, const WorkerOptions& options,
                const std::function<int()>& serve, const Logger& log)
{
    runtime::Pidfile pidfile(options.pidfile);
    if (!options.master) return serve();
    WorkerOptions effective = options;
    effective.workers = std::max(1u, options.workers);
    effective.max_boot_failures = std::max(1u, options.max_boot_failures);
    Master master(interpreter, effective, serve, log);
    return master.run();
}

} // namespace wsgibridge
