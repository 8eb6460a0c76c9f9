// --static-map: path confinement, conditional requests (RFC 9110 §13), ranges (§14),
// precompressed variants, through an in-memory sink.
#include "http/static_files.hpp"
#include "memory_sink.hpp"
#include "process.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <stdexcept>
#include <sys/stat.h>

using namespace wsgibridge;
using namespace wsgibridge::http;
using namespace wsgibridge::test;

TEST(StaticMap, ParsesPrefixAndDir)
{
    auto m = parse_static_map("/static/=/srv/www");
    EXPECT_EQ(m.prefix, "/static");
    EXPECT_EQ(m.dir, "/srv/www");
    EXPECT_EQ(parse_static_map("/=/srv").prefix, "");
    for (const char* bad : {"static=/srv", "/static", "=/srv", "/static="})
        EXPECT_THROW(parse_static_map(bad), std::invalid_argument) << bad;
}

TEST(StaticPath, DecodesOnceAndRefusesEscapes)
{
    std::string rel;
    EXPECT_EQ(static_relative_path("/static/css/a.css?v=1", "/static", rel), PathVerdict::ok);
    EXPECT_EQ(rel, "css/a.css");
    EXPECT_EQ(static_relative_path("/static//./css/%61.css", "/static", rel), PathVerdict::ok);
    EXPECT_EQ(rel, "css/a.css");
    EXPECT_EQ(static_relative_path("/staticx/a", "/static", rel), PathVerdict::not_mapped);
    EXPECT_EQ(static_relative_path("/app", "/static", rel), PathVerdict::not_mapped);
    EXPECT_EQ(static_relative_path("/static", "/static", rel), PathVerdict::ok);
    EXPECT_EQ(rel, "");
    for (const char* bad : {"/static/../app.py", "/static/a/../../x", "/static/%2e%2e/app.py",
                            "/static/%2E%2e%2fapp.py", "/static/..%2fapp.py", "/static/a%00.css",
                            "/static/..%5capp.py", "/static/a\\b", "/static/%5c"})
        EXPECT_EQ(static_relative_path(bad, "/static", rel), PathVerdict::refused) << bad;
    // Double-encoded dots are decoded once: a literal file name "%2e%2e", not a parent.
    EXPECT_EQ(static_relative_path("/static/%252e%252e/app.py", "/static", rel), PathVerdict::ok);
    EXPECT_EQ(rel, "%2e%2e/app.py");
    EXPECT_EQ(static_relative_path("/x/../y", "", rel), PathVerdict::refused);
}

TEST(StaticRange, SingleRangesOnly)
{
    ByteRange r;
    EXPECT_EQ(parse_range("bytes=0-9", 100, r), RangeVerdict::satisfiable);
    EXPECT_EQ(r.first, 0u);
    EXPECT_EQ(r.last, 9u);
    EXPECT_EQ(parse_range("bytes=90-", 100, r), RangeVerdict::satisfiable);
    EXPECT_EQ(r.last, 99u);
    EXPECT_EQ(parse_range("bytes=-10", 100, r), RangeVerdict::satisfiable);
    EXPECT_EQ(r.first, 90u);
    EXPECT_EQ(parse_range("bytes=-1000", 100, r), RangeVerdict::satisfiable);
    EXPECT_EQ(r.first, 0u);
    EXPECT_EQ(parse_range("bytes=50-1000", 100, r), RangeVerdict::satisfiable);
    EXPECT_EQ(r.last, 99u);
    EXPECT_EQ(parse_range("bytes=100-", 100, r), RangeVerdict::unsatisfiable);
    EXPECT_EQ(parse_range("bytes=-0", 100, r), RangeVerdict::unsatisfiable);
    EXPECT_EQ(parse_range("bytes=0-", 0, r), RangeVerdict::unsatisfiable);
    for (const char* ignored :
         {"bytes=0-1,5-6", "bytes=5-1", "items=0-1", "bytes=a-b", "bytes=", "bytes=1", "bytes=--1"})
        EXPECT_EQ(parse_range(ignored, 100, r), RangeVerdict::ignore) << ignored;
}

TEST(StaticDates, ThreeFormsAndFormatting)
{
    std::time_t t = 0;
    ASSERT_TRUE(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", t));
    EXPECT_EQ(t, 784111777);
    ASSERT_TRUE(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", t));
    EXPECT_EQ(t, 784111777);
    ASSERT_TRUE(parse_http_date("Sun Nov  6 08:49:37 1994", t));
    EXPECT_EQ(t, 784111777);
    EXPECT_EQ(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(format_http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
    EXPECT_EQ(format_http_date(1700000000), "Tue, 14 Nov 2023 22:13:20 GMT");
    for (std::time_t at = 0; at < 4102444800; at += 86400 * 37 + 3671) { // to 2100
        ASSERT_TRUE(parse_http_date(format_http_date(at), t)) << at;
        EXPECT_EQ(t, at);
    }
    for (const char* bad : {"", "yesterday", "Sun, 06 Nov 1994 25:49:37 GMT",
                            "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 CET"})
        EXPECT_FALSE(parse_http_date(bad, t)) << bad;
}

TEST(StaticEncodings, QualityZeroRefuses)
{
    auto e = accepted_encodings("gzip, deflate, br");
    EXPECT_TRUE(e.gzip && e.br);
    e = accepted_encodings("gzip;q=0, br;q=0.5");
    EXPECT_FALSE(e.gzip);
    EXPECT_TRUE(e.br);
    e = accepted_encodings("*;q=0.1, br;q=0.000");
    EXPECT_TRUE(e.gzip);
    EXPECT_FALSE(e.br);
    e = accepted_encodings("");
    EXPECT_FALSE(e.gzip || e.br);
    EXPECT_EQ(content_type_for("a/b.CSS"), "text/css; charset=utf-8");
    EXPECT_EQ(content_type_for("x.tar.gz"), "application/octet-stream");
    EXPECT_EQ(content_type_for(".hidden"), "application/octet-stream");
}

// Only the variants the client takes are opened: a request without Accept-Encoding (or
// refusing both with q=0, RFC 9110 §12.4.2) makes no lookup of name.br / name.gz.
TEST(StaticEncodings, OnlyAcceptedVariantsAreLookedUp)
{
    auto suffixes = [](std::string_view header) {
        std::string out;
        for (const auto& v : variants_to_try(accepted_encodings(header)))
            out += v.suffix;
        return out;
    };
    EXPECT_EQ(suffixes(""), "");
    EXPECT_EQ(suffixes("identity"), "");
    EXPECT_EQ(suffixes("deflate"), "");
    EXPECT_EQ(suffixes("gzip;q=0, br;q=0"), "");
    EXPECT_EQ(suffixes("*;q=0"), "");
    EXPECT_EQ(suffixes("gzip"), ".gz");
    EXPECT_EQ(suffixes("br;q=0, gzip"), ".gz");
    EXPECT_EQ(suffixes("br"), ".br");
    EXPECT_EQ(suffixes("gzip;q=0, br"), ".br");
    EXPECT_EQ(suffixes("gzip, deflate, br"), ".br.gz");
    EXPECT_EQ(suffixes("*"), ".br.gz");
    auto gz = variants_to_try({.gzip = true});
    ASSERT_EQ(gz.size(), 1u);
    EXPECT_EQ(gz[0].coding, "gzip");
    EXPECT_EQ(gz[0].etag_suffix, "-gz");
}

namespace {

struct Site
{
    TempDir dir;
    std::filesystem::path root = dir / "www";
    StaticFiles files;
    LogCapture log;

    Site() : files(make()) {}
    std::vector<StaticMapping> make()
    {
        std::filesystem::create_directories(root / "css");
        write_file(root / "css/site.css", "body { color: red }\n");
        write_file(root / "app.js", std::string(1000, 'j'));
        write_file(root / "app.js.gz", "GZ-BYTES");
        write_file(root / "app.js.br", "BR-BYTES");
        write_file(dir / "secret.py", "SECRET = 1\n");
        std::filesystem::create_directories(root / "%2e%2e");
        std::filesystem::create_symlink(dir / "secret.py", root / "escape.txt");
        // RESOLVE_BENEATH follows relative links that stay inside; an absolute one is refused
        // even when it points inside (it would be resolved from "/").
        std::filesystem::create_symlink("css/site.css", root / "inside.css");
        std::filesystem::create_symlink(root / "css/site.css", root / "absolute.css");
        // Opening a FIFO for reading waits for a writer: it must be refused, not waited on.
        EXPECT_EQ(::mkfifo((root / "pipe.css").c_str(), 0644), 0);
        return {{"/static", root.string()}};
    }
    MemorySink get(RequestBuilder b)
    {
        MemorySink sink;
        EXPECT_TRUE(files.serve(b.request(), sink, log.logger()));
        EXPECT_EQ(sink.finish_calls + sink.abort_calls, 1);
        return sink;
    }
};

} // namespace

TEST(StaticFiles, ServesFilesWithValidators)
{
    Site s;
    auto r = s.get(RequestBuilder("GET", "/static/css/site.css"));
    EXPECT_EQ(r.status_code, 200);
    EXPECT_EQ(r.body, "body { color: red }\n");
    EXPECT_EQ(r.header("Content-Type").value_or(""), "text/css; charset=utf-8");
    EXPECT_EQ(r.content_length.value_or(0), 20u);
    EXPECT_EQ(r.header("Accept-Ranges").value_or(""), "bytes");
    // Even without variants: the representation depends on Accept-Encoding for any file
    // (RFC 9110 §12.5.5), and a plain request no longer looks the variants up.
    EXPECT_EQ(r.header("Vary").value_or(""), "Accept-Encoding");
    auto etag = r.header("ETag").value_or("");
    auto modified = r.header("Last-Modified").value_or("");
    ASSERT_FALSE(etag.empty());
    ASSERT_FALSE(modified.empty());

    auto head = s.get(RequestBuilder("HEAD", "/static/css/site.css"));
    EXPECT_EQ(head.status_code, 200);
    EXPECT_FALSE(head.body_allowed);
    EXPECT_EQ(head.content_length.value_or(0), 20u);

    auto inm = s.get(RequestBuilder("GET", "/static/css/site.css").header("If-None-Match", etag));
    EXPECT_EQ(inm.status_code, 304);
    EXPECT_EQ(inm.body, "");
    auto weak = s.get(
        RequestBuilder("GET", "/static/css/site.css").header("If-None-Match", "\"x\", W/" + etag));
    EXPECT_EQ(weak.status_code, 304);
    auto ims =
        s.get(RequestBuilder("GET", "/static/css/site.css").header("If-Modified-Since", modified));
    EXPECT_EQ(ims.status_code, 304);
    auto old = s.get(RequestBuilder("GET", "/static/css/site.css")
                         .header("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"));
    EXPECT_EQ(old.status_code, 200);
    auto other = s.get(RequestBuilder("GET", "/static/css/site.css")
                           .header("If-None-Match", "\"other\"")
                           .header("If-Modified-Since", modified)); // INM wins (§13.2.2)
    EXPECT_EQ(other.status_code, 200);
}

TEST(StaticFiles, Ranges)
{
    Site s;
    auto r = s.get(RequestBuilder("GET", "/static/css/site.css").header("Range", "bytes=7-11"));
    EXPECT_EQ(r.status_code, 206);
    EXPECT_EQ(r.body, "color");
    EXPECT_EQ(r.header("Content-Range").value_or(""), "bytes 7-11/20");
    auto tail = s.get(RequestBuilder("GET", "/static/css/site.css").header("Range", "bytes=-2"));
    EXPECT_EQ(tail.body, "}\n");
    auto bad = s.get(RequestBuilder("GET", "/static/css/site.css").header("Range", "bytes=20-"));
    EXPECT_EQ(bad.status_code, 416);
    EXPECT_EQ(bad.header("Content-Range").value_or(""), "bytes */20");
    auto stale = s.get(RequestBuilder("GET", "/static/css/site.css")
                           .header("Range", "bytes=0-1")
                           .header("If-Range", "\"stale\""));
    EXPECT_EQ(stale.status_code, 200);
    EXPECT_EQ(stale.body.size(), 20u);
}

TEST(StaticFiles, PrecompressedVariants)
{
    Site s;
    auto br = s.get(RequestBuilder("GET", "/static/app.js").header("Accept-Encoding", "gzip, br"));
    EXPECT_EQ(br.body, "BR-BYTES");
    EXPECT_EQ(br.header("Content-Encoding").value_or(""), "br");
    EXPECT_EQ(br.header("Content-Type").value_or(""), "text/javascript; charset=utf-8");
    EXPECT_EQ(br.header("Vary").value_or(""), "Accept-Encoding");
    auto gz = s.get(RequestBuilder("GET", "/static/app.js").header("Accept-Encoding", "gzip"));
    EXPECT_EQ(gz.body, "GZ-BYTES");
    EXPECT_EQ(gz.header("Content-Encoding").value_or(""), "gzip");
    auto plain = s.get(RequestBuilder("GET", "/static/app.js"));
    EXPECT_EQ(plain.body.size(), 1000u);
    EXPECT_FALSE(plain.header("Content-Encoding"));
    EXPECT_EQ(plain.header("Vary").value_or(""), "Accept-Encoding");
    EXPECT_NE(plain.header("ETag"), gz.header("ETag"));
    EXPECT_NE(br.header("ETag"), gz.header("ETag"));
}

TEST(StaticFiles, NothingOutsideTheDirectory)
{
    Site s;
    for (const char* target :
         {"/static/../secret.py", "/static/%2e%2e/secret.py", "/static/%2e%2e%2fsecret.py",
          "/static/%252e%252e/secret.py", "/static/..%5csecret.py", "/static/css%00/site.css",
          "/static/escape.txt", "/static/absolute.css", "/static/css", "/static/", "/static",
          "/static/missing.css", "/static/%2e%2e", "/static/pipe.css"}) {
        auto r = s.get(RequestBuilder("GET", target));
        EXPECT_EQ(r.status_code, 404) << target;
        EXPECT_EQ(r.body.find("SECRET"), std::string::npos) << target;
    }
    EXPECT_TRUE(s.log.contains("--static-map"));
    EXPECT_TRUE(s.log.contains("resolves outside the directory")) << s.log.text();
    // A symlink that stays inside is fine.
    EXPECT_EQ(s.get(RequestBuilder("GET", "/static/inside.css")).status_code, 200);

    auto post = s.get(RequestBuilder("POST", "/static/css/site.css"));
    EXPECT_EQ(post.status_code, 405);
    EXPECT_EQ(post.header("Allow").value_or(""), "GET, HEAD");

    MemorySink untouched;
    EXPECT_FALSE(
        s.files.serve(RequestBuilder("GET", "/app/static/x").request(), untouched, s.log.logger()));
    EXPECT_EQ(untouched.start_calls, 0);
    EXPECT_THROW(StaticFiles({{"/s", (s.dir / "nope").string()}}), std::invalid_argument);
}
