// Shared by the python tests: one WsgiApp on tests/apps/wsgi_cases.py per test suite,
// a LogCapture as its error log, and serve() running one request into a MemorySink.
#pragma once

#include "memory_sink.hpp"
#include "python_main.hpp"
#include "wsgibridge/wsgi_app.hpp"

#include <gtest/gtest.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace wsgibridge::test {

inline AppSpec spec_of(std::string_view text)
{
    auto spec = AppSpec::parse(text);
    if (!spec) throw std::invalid_argument("bad spec");
    return *spec;
}

/// One request through `app`.
inline MemorySink serve(WsgiApp& app, const RequestBuilder& rb, MemorySink sink = {})
{
    MemoryBody body = rb.make_body();
    app.handle(rb.request(), body, sink);
    return sink;
}

class CasesTest : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        log_ = new LogCapture();
        WsgiOptions options;
        options.multithread = true;
        app_ = new WsgiApp(interpreter(), spec_of(spec_text()), options, log_->logger());
    }
    static void TearDownTestSuite()
    {
        delete app_;
        delete log_;
        app_ = nullptr;
        log_ = nullptr;
    }
    void SetUp() override { log_->clear(); }
    void TearDown() override
    {
        // No test may leave the sink state machine broken (checked in each serve()).
    }

    static const char* spec_text() { return "wsgi_cases:application"; }

    static MemorySink get(std::string_view target, std::string_view method = "GET")
    {
        RequestBuilder rb(method, target);
        return checked(serve(*app_, rb));
    }
    static MemorySink checked(MemorySink sink)
    {
        EXPECT_TRUE(sink.violations.empty()) << sink.violations.front();
        EXPECT_EQ(sink.finish_calls + sink.abort_calls, 1) << "the sink must end exactly once";
        return sink;
    }
    /// close() counts from the app (/stats).
    static nlohmann::json stats() { return nlohmann::json::parse(get("/stats").body); }
    static int closed(const std::string& name)
    {
        auto s = stats();
        return s.contains(name) ? s[name].get<int>() : 0;
    }
    static std::string log_text() { return log_->text(); }

    static inline WsgiApp* app_ = nullptr;
    static inline LogCapture* log_ = nullptr;
};

} // namespace wsgibridge::test
