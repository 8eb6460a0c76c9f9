// One WsgiApp called from several threads at once (RequestHandler's contract): each
// thread takes the GIL per request, the GIL is released around body reads and sink
// writes, and per-thread buffers never mix requests.
#include "harness.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace wsgibridge::test {
namespace {

class ConcurrencyTest : public CasesTest
{
};

TEST_F(ConcurrencyTest, FourThreadsEchoTheirOwnBodies)
{
    constexpr int threads = 4, per_thread = 1000;
    std::atomic<int> ok{0}, bad{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([t, &ok, &bad] {
            for (int i = 0; i < per_thread; ++i) {
                std::string body =
                    "thread " + std::to_string(t) + " request " + std::to_string(i) + "\n";
                body += std::string(static_cast<std::size_t>(i * 37 % 5000),
                                    static_cast<char>('a' + t));
                RequestBuilder rb("POST", "/echo");
                rb.body(body);
                MemoryBody source = rb.make_body();
                source.max_read = 100; // many GIL releases per request
                MemorySink sink;
                app_->handle(rb.request(), source, sink);
                bool good = sink.status_code == 200 && sink.body == body &&
                            sink.finish_calls == 1 && sink.violations.empty() &&
                            sink.content_length == body.size();
                (good ? ok : bad)++;
            }
        });
    }
    for (auto& th : pool)
        th.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(ok.load(), threads * per_thread);
}

TEST_F(ConcurrencyTest, ThreadsMixingFailuresAndSuccesses)
{
    std::atomic<int> wrong{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t) {
        pool.emplace_back([t, &wrong] {
            for (int i = 0; i < 50; ++i) {
                bool fail = (i + t) % 3 == 0;
                auto sink =
                    serve(*app_, RequestBuilder("GET", fail ? "/raise" : "/closing?n=3&name=mt"));
                if (sink.status_code != (fail ? 500 : 200) || sink.finish_calls != 1) ++wrong;
                if (!fail && sink.body != "AAAAABBBBBCCCCC") ++wrong;
            }
        });
    }
    for (auto& th : pool)
        th.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(closed("mt"), 4 * 50 - 67) << "close() once per successful request";
}

/// A one-shot flag with a bounded wait.
class Gate
{
public:
    void open()
    {
        std::lock_guard lock(m_);
        open_ = true;
        cv_.notify_all();
    }
    bool wait(std::chrono::milliseconds timeout)
    {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, timeout, [this] { return open_; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool open_ = false;
};

/// A body whose first read blocks until `gate` opens (as a socket waits for a slow
/// client), failing with a timeout after 5 s.
class BlockingBody final : public BodySource
{
public:
    explicit BlockingBody(Gate& gate) : gate_(gate) {}
    Result<std::size_t> read(std::span<char> buf) override
    {
        if (!gate_.wait(std::chrono::seconds(5))) return make_error_code(errc::timeout);
        return inner_.read(buf);
    }
    std::optional<std::uint64_t> remaining() const noexcept override { return inner_.remaining(); }

private:
    Gate& gate_;
    MemoryBody inner_{"slow body"};
};

/// A sink whose first write blocks until `gate` opens (a client slow to read).
class BlockingSink final : public ResponseSink
{
public:
    explicit BlockingSink(Gate& gate) : gate_(gate) {}
    std::error_code start(const ResponseHead& head) override { return inner.start(head); }
    std::error_code write(std::span<const char> data) override
    {
        if (!gate_.wait(std::chrono::seconds(5))) return std::make_error_code(std::errc::timed_out);
        return inner.write(data);
    }
    std::error_code finish() override { return inner.finish(); }
    void abort(std::string_view reason) override { inner.abort(reason); }
    MemorySink inner;

private:
    Gate& gate_;
};

TEST_F(ConcurrencyTest, GilIsReleasedWhileReadingTheBody)
{
    // Request A blocks in BodySource::read until request B (Python) has run. If A held
    // the GIL while reading, B could not run and A would time out (408).
    Gate gate;
    RequestBuilder a("POST", "/echo");
    a.body("slow body");
    BlockingBody body(gate);
    MemorySink sink_a;
    std::thread ta([&] { app_->handle(a.request(), body, sink_a); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50)); // A is now waiting
    auto sink_b = serve(*app_, RequestBuilder("GET", "/list"));
    gate.open();
    ta.join();
    EXPECT_EQ(sink_b.status_code, 200);
    EXPECT_EQ(sink_a.status_code, 200) << log_text();
    EXPECT_EQ(sink_a.body, "slow body");
}

TEST_F(ConcurrencyTest, GilIsReleasedWhileWriting)
{
    Gate gate;
    BlockingSink sink_a(gate);
    MemoryBody empty;
    RequestBuilder a("GET", "/stream?n=2");
    std::thread ta([&] { app_->handle(a.request(), empty, sink_a); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50)); // A is now in write()
    auto sink_b = serve(*app_, RequestBuilder("GET", "/list"));
    gate.open();
    ta.join();
    EXPECT_EQ(sink_b.status_code, 200);
    EXPECT_EQ(sink_a.inner.body, "chunk0\nchunk1\n");
    EXPECT_EQ(sink_a.inner.finish_calls, 1);
}

TEST_F(ConcurrencyTest, StreamingChunksLeaveOneByOne)
{
    // PEP 3333 'Buffering and Streaming': a generator sleeping between chunks; each chunk reaches
    // the sink when it is yielded, not at the end.
    struct TimedSink final : ResponseSink
    {
        std::error_code start(const ResponseHead&) override { return {}; }
        std::error_code write(std::span<const char>) override
        {
            times.push_back(std::chrono::steady_clock::now());
            return {};
        }
        std::error_code finish() override { return {}; }
        void abort(std::string_view) override {}
        std::vector<std::chrono::steady_clock::time_point> times;
    } sink;
    MemoryBody empty;
    RequestBuilder rb("GET", "/stream?n=3&delay=0.2");
    app_->handle(rb.request(), empty, sink);
    ASSERT_EQ(sink.times.size(), 3u);
    EXPECT_GE(sink.times[1] - sink.times[0], std::chrono::milliseconds(150));
    EXPECT_GE(sink.times[2] - sink.times[1], std::chrono::milliseconds(150));
}

} // namespace
} // namespace wsgibridge::test
