// The master's building blocks without processes: the shared slots (a slot is free
// again once released, counters restart), the pidfile (written atomically, removed),
// and the stats rendering (JSON sums, Prometheus histogram cumulative and counters
// monotonic across a retired worker).
#include "runtime/pidfile.hpp"
#include "runtime/slots.hpp"
#include "runtime/stats.hpp"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace wsgibridge;
using namespace wsgibridge::runtime;

TEST(Slots, AcquireReleaseResets)
{
    Slots slots(2);
    Slot* a = slots.acquire();
    Slot* b = slots.acquire();
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(slots.acquire(), nullptr) << "only two slots";
    a->requests = 7;
    a->ready = 1;
    slots.release(a);
    Slot* c = slots.acquire();
    EXPECT_EQ(c, a);
    EXPECT_EQ(c->requests.load(), 0u);
    EXPECT_EQ(c->ready.load(), 0);
}

TEST(Pidfile, WrittenThenRemoved)
{
    auto path = std::filesystem::temp_directory_path() /
                ("wsgibridge-pidfile-" + std::to_string(::getpid()));
    {
        Pidfile pidfile(path.string());
        std::ifstream in(path);
        std::string text;
        std::getline(in, text);
        EXPECT_EQ(text, std::to_string(::getpid()));
    }
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_THROW(Pidfile("/nonexistent-dir/x.pid"), std::system_error);
}

TEST(Stats, JsonAndMetricsAddUp)
{
    Slots slots(3);
    MasterTotals totals;
    Logger log(2, LogLevel::error);
    auto sock = std::filesystem::temp_directory_path() /
                ("wsgibridge-stats-" + std::to_string(::getpid()) + ".sock");
    StatsServer stats("unix:" + sock.string(), slots, totals, log);

    Slot* gone = slots.acquire();
    gone->pid = 100;
    gone->requests = 5;
    gone->by_class[2] = 5;
    gone->duration_buckets[0] = 5;
    Slot* live = slots.acquire();
    live->pid = 101;
    live->requests = 3;
    live->by_class[2] = 2;
    live->by_class[5] = 1;
    live->duration_buckets[3] = 3;
    live->duration_sum_us = 150'000;
    {
        std::lock_guard lock(totals.mutex);
        totals.retire(*gone);
        ++totals.worker_restarts;
        slots.release(gone);
    }
    auto j = nlohmann::json::parse(stats.json());
    EXPECT_EQ(j["requests"], 3);
    EXPECT_EQ(j["requests_total"], 8);
    EXPECT_EQ(j["worker_restarts"], 1);
    ASSERT_EQ(j["workers"].size(), 1u);
    EXPECT_EQ(j["workers"][0]["pid"], 101);

    auto m = stats.metrics();
    EXPECT_NE(m.find("wsgibridge_requests_total{class=\"2xx\"} 7\n"), std::string::npos) << m;
    EXPECT_NE(m.find("wsgibridge_requests_total{class=\"5xx\"} 1\n"), std::string::npos) << m;
    // Cumulative buckets: 5 under 5 ms, all 8 under 50 ms.
    EXPECT_NE(m.find("wsgibridge_request_duration_seconds_bucket{le=\"0.005\"} 5\n"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("wsgibridge_request_duration_seconds_bucket{le=\"0.05\"} 8\n"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("wsgibridge_request_duration_seconds_bucket{le=\"+Inf\"} 8\n"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("wsgibridge_request_duration_seconds_sum 0.15\n"), std::string::npos) << m;
    EXPECT_NE(m.find("wsgibridge_workers 1\n"), std::string::npos) << m;
}
