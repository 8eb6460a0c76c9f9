// Flask (python3-flask) and Django (python3-django) through the invoker: what real
// frameworks do with wsgi.input, wsgi.file_wrapper and HEAD must work unchanged.
#include "harness.hpp"

namespace wsgibridge::test {
namespace {

class FlaskTest : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        log_ = new LogCapture();
        WsgiOptions options;
        options.multithread = true;
        app_ = new WsgiApp(interpreter(), spec_of("flask_cases:app"), options, log_->logger());
    }
    static void TearDownTestSuite()
    {
        delete app_;
        delete log_;
    }
    static MemorySink run(const RequestBuilder& rb)
    {
        auto sink = serve(*app_, rb);
        EXPECT_TRUE(sink.violations.empty());
        EXPECT_EQ(sink.finish_calls, 1) << log_->text();
        return sink;
    }
    static inline WsgiApp* app_ = nullptr;
    static inline LogCapture* log_ = nullptr;
};

TEST_F(FlaskTest, HelloAndNotFound)
{
    auto sink = run(RequestBuilder("GET", "/"));
    EXPECT_EQ(sink.status_code, 200);
    EXPECT_EQ(sink.body, "hello from flask");
    EXPECT_EQ(sink.content_length, sink.body.size());
    EXPECT_EQ(run(RequestBuilder("GET", "/nope")).status_code, 404);
}

TEST_F(FlaskTest, MultipartFormThroughWsgiInput)
{
    std::string body = "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"name\"\r\n\r\n"
                       "Zo\xc3\xab\r\n"
                       "--XyZ\r\n"
                       "Content-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\n"
                       "Content-Type: text/plain\r\n\r\n"
                       "file line 1\nfile line 2\n\r\n"
                       "--XyZ--\r\n";
    RequestBuilder rb("POST", "/form");
    rb.header("Content-Type", "multipart/form-data; boundary=XyZ").body(body);
    auto sink = run(rb);
    ASSERT_EQ(sink.status_code, 200) << log_->text();
    auto json = nlohmann::json::parse(sink.body);
    EXPECT_EQ(json["name"], "Zo\xc3\xab");
    EXPECT_EQ(json["upload"], "file line 1\nfile line 2\n");
    EXPECT_EQ(json["filename"], "a.txt");
}

TEST_F(FlaskTest, JsonBodyChunkedOrNot)
{
    for (bool chunked : {false, true}) {
        RequestBuilder rb("POST", "/json");
        rb.header("Content-Type", "application/json").body(R"({"a": [1, 2, 3]})", chunked);
        auto sink = run(rb);
        ASSERT_EQ(sink.status_code, 200) << log_->text();
        auto json = nlohmann::json::parse(sink.body);
        EXPECT_EQ(json["got"]["a"], nlohmann::json::parse("[1, 2, 3]")) << chunked;
    }
}

TEST_F(FlaskTest, SendFileUsesTheFileWrapper)
{
    auto sink = run(RequestBuilder("GET", "/file"));
    EXPECT_EQ(sink.status_code, 200);
    ASSERT_EQ(sink.files.size(), 1u) << "Werkzeug passes our wrapper through: sendfile";
    EXPECT_EQ(sink.files[0].count, 10000u);
    EXPECT_EQ(sink.body.size(), 10000u);
    EXPECT_EQ(sink.header("Content-Length"), "10000");

    sink = run(RequestBuilder("HEAD", "/file"));
    EXPECT_TRUE(sink.files.empty());
    EXPECT_EQ(sink.body, "");
    EXPECT_EQ(sink.content_length, 10000u);
}

TEST_F(FlaskTest, Streaming)
{
    auto sink = run(RequestBuilder("GET", "/stream"));
    EXPECT_EQ(sink.body, "part0;part1;part2;");
    EXPECT_EQ(sink.chunks.size(), 3u);
    EXPECT_FALSE(sink.content_length);
}

class DjangoTest : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        log_ = new LogCapture();
        app_ = new WsgiApp(interpreter(), spec_of("django_cases"), {}, log_->logger());
    }
    static void TearDownTestSuite()
    {
        delete app_;
        delete log_;
    }
    static MemorySink run(const RequestBuilder& rb)
    {
        auto sink = serve(*app_, rb);
        EXPECT_TRUE(sink.violations.empty());
        EXPECT_EQ(sink.finish_calls, 1) << log_->text();
        return sink;
    }
    static inline WsgiApp* app_ = nullptr;
    static inline LogCapture* log_ = nullptr;
};

TEST_F(DjangoTest, HelloAndHead)
{
    auto sink = run(RequestBuilder("GET", "/"));
    EXPECT_EQ(sink.status_code, 200) << log_->text();
    EXPECT_EQ(sink.body, "hello from django");
    sink = run(RequestBuilder("HEAD", "/"));
    EXPECT_EQ(sink.body, "");
    EXPECT_EQ(run(RequestBuilder("GET", "/nope")).status_code, 404);
}

TEST_F(DjangoTest, UrlencodedAndMultipartPosts)
{
    RequestBuilder rb("POST", "/app/form");
    rb.mount("/app");
    rb.header("Content-Type", "application/x-www-form-urlencoded").body("name=caf%C3%A9&x=1");
    auto sink = run(rb);
    ASSERT_EQ(sink.status_code, 200) << log_->text();
    auto json = nlohmann::json::parse(sink.body);
    EXPECT_EQ(json["name"], "caf\xc3\xa9");
    EXPECT_EQ(json["path"], "/app/form") << "SCRIPT_NAME + PATH_INFO";
    EXPECT_EQ(json["script"], "/app");

    std::string body =
        "--B\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nzed\r\n"
        "--B\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"u.txt\"\r\n"
        "Content-Type: text/plain\r\n\r\nuploaded\ntext\r\n--B--\r\n";
    RequestBuilder mp("POST", "/form");
    mp.header("Content-Type", "multipart/form-data; boundary=B").body(body);
    sink = run(mp);
    ASSERT_EQ(sink.status_code, 200) << log_->text();
    json = nlohmann::json::parse(sink.body);
    EXPECT_EQ(json["name"], "zed");
    EXPECT_EQ(json["upload"], "uploaded\ntext");
}

TEST_F(DjangoTest, FileResponseUsesTheFileWrapper)
{
    auto sink = run(RequestBuilder("GET", "/file"));
    EXPECT_EQ(sink.status_code, 200);
    ASSERT_EQ(sink.files.size(), 1u) << "Django's FileResponse returns wsgi.file_wrapper";
    EXPECT_EQ(sink.body.size(), 5000u);
    EXPECT_EQ(sink.header("Content-Length"), "5000");
}

} // namespace
} // namespace wsgibridge::test
