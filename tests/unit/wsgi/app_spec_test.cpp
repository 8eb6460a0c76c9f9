// AppSpec::parse (lib/wsgi/app_spec.cpp): pure string rules, no Python.
#include "wsgibridge/app_spec.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using wsgibridge::AppSpec;

namespace {
AppSpec ok(std::string_view text)
{
    auto spec = AppSpec::parse(text);
    EXPECT_TRUE(spec) << text;
    return spec ? *spec : AppSpec{};
}
} // namespace

TEST(AppSpec, ModuleAndCallable)
{
    auto s = ok("myapp:app");
    EXPECT_EQ(s.module, "myapp");
    EXPECT_EQ(s.callable, "app");
    EXPECT_EQ(s.file, "");
    s = ok("pkg.sub.mod:make.app");
    EXPECT_EQ(s.module, "pkg.sub.mod");
    EXPECT_EQ(s.callable, "make.app");
}

TEST(AppSpec, ModuleAlone)
{
    auto s = ok("hello");
    EXPECT_EQ(s.module, "hello");
    EXPECT_EQ(s.callable, "") << "empty means `application` (else `app`)";
}

TEST(AppSpec, Files)
{
    auto s = ok("path/to/file.py");
    EXPECT_EQ(s.file, "path/to/file.py");
    EXPECT_EQ(s.module, "");
    EXPECT_EQ(s.callable, "");
    s = ok("/srv/site/wsgi.py:app");
    EXPECT_EQ(s.file, "/srv/site/wsgi.py");
    EXPECT_EQ(s.callable, "app");
    s = ok("app.py");
    EXPECT_EQ(s.file, "app.py");
}

TEST(AppSpec, ShebangScriptsAreFiles)
{
    EXPECT_EQ(ok("app.cgi").file, "app.cgi");
    EXPECT_EQ(ok("app.fcgi").file, "app.fcgi");
    EXPECT_EQ(ok("site.wsgi").file, "site.wsgi");
    EXPECT_EQ(ok("my-app").file, "my-app") << "not a module name: a file";
    EXPECT_EQ(ok("./run").file, "./run");
    EXPECT_EQ(ok("cgi-bin/hello.cgi:application").file, "cgi-bin/hello.cgi");
}

TEST(AppSpec, ColonInPath)
{
    auto s = ok("/tmp/a:b/app.py:app");
    EXPECT_EQ(s.file, "/tmp/a:b/app.py");
    EXPECT_EQ(s.callable, "app");
}

TEST(AppSpec, Rejects)
{
    for (auto bad : {"", ":app", "mod:", "mod:1app", "mod:a-b", "mod:a..b", "dir/:app", "mod:app:"})
        EXPECT_FALSE(AppSpec::parse(bad)) << bad;
}

TEST(AppSpec, SaysWhatIsWrong)
{
    auto message = [](const char* spec) { return AppSpec::parse(spec).error().message(); };
    EXPECT_THAT(message(""), testing::HasSubstr("empty application spec"));
    EXPECT_THAT(message(":app"), testing::HasSubstr("no module or file before ':'"));
    EXPECT_THAT(message("mod:1app"), testing::HasSubstr("not a Python name"));
    EXPECT_THAT(message("dir/:app"), testing::HasSubstr("a directory is not an application"));
}
