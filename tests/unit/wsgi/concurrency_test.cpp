// One WsgiApp called from several threads at once (RequestHandler's contract): each
// thread takes the GIL per request, the GIL is released around body reads and sink
// writes, and per-thread buffers never mix requests.
#include <atomic>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace wsgibridge::test {
namespace {

class ConcurrencyTest : public CasesTest
{
};

TEST_F(ConcurrencyTest, FourThreadsEchoTheirOwnBodies)
{
    constexpr int threads = 4, per_thread = 200;
    std::atomic<int> ok{0}, bad{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([t, &ok, &bad] {
            for (int i = 0; i < per_thread; ++i) {
                std::string body = "thread " + std::to_string(t) + " request " + std::to_string(i) + "\n";
                body += std::string(static_cast<std::size_t>(i * 37 % 5000), static_cast<char>('a' + t));
                RequestBuilder rb("POST", "/echo");
                rb.body(body);
                MemoryBody source = rb.make_body();
                source.max_read = 100; // many GIL releases per request
                MemorySink sink;
                app_->handle(rb.request(), source, sink);
                bool good = sink.status_code == 200 && sink.body == body && sink.finish_calls == 1 &&
                            sink.violations.empty() && sink.content_length == body.size();
                (good ? ok : bad)++;
            }
        });
    }
    for (auto& th : pool) th.join();
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
                auto sink = serve(*app_, RequestBuilder("GET", fail ? "/raise" : "/closing?n=3&name=mt"));
                if (sink.status_code != (fail ? 500 : 200) || sink.finish_calls != 1) ++wrong;
                if (!fail && sink.body != "AAAAABBBBBCCCCC") ++wrong;
            }
        });
    }
    for (auto& th : pool) th.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(closed("mt"), 4 * 50 - 67) << "close() once per successful request";
}

} // namespace
} // namespace wsgibridge::test
