// wsgi.file_wrapper (lib/wsgi/file_wrapper.cpp, invoker.cpp try_send_file): PEP 3333 'Optional
// Platform-Specific File Handling'.
#include "harness.hpp"

namespace wsgibridge::test {
namespace {

/// The app's file: bytes(range(256)) * 40.
std::string file_data()
{
    std::string s;
    for (int rep = 0; rep < 40; ++rep)
        for (int i = 0; i < 256; ++i)
            s += static_cast<char>(i);
    return s;
}

class FileWrapperTest : public CasesTest
{
};

TEST_F(FileWrapperTest, RealFileUsesSendFileWithComputedLength)
{
    auto sink = get("/file");
    EXPECT_EQ(sink.status_code, 200);
    ASSERT_EQ(sink.files.size(), 1u) << "sent with send_file, not iterated";
    EXPECT_EQ(sink.files[0].offset, 0u);
    EXPECT_EQ(sink.files[0].count, 10240u);
    EXPECT_EQ(sink.body, file_data());
    EXPECT_EQ(sink.write_calls, 0);
    EXPECT_EQ(sink.content_length, 10240u);
    EXPECT_TRUE(sink.content_length_computed);
    EXPECT_EQ(sink.finish_calls, 1);
    EXPECT_EQ(closed("file"), 1) << "close() reaches the file (51d)";
}

TEST_F(FileWrapperTest, StartsAtTellAfterBufferedRead)
{
    // f.read(10) on a buffered file reads ahead; the fd offset is not 10, tell() is.
    auto before = closed("file");
    auto sink = get("/file?skip=10");
    ASSERT_EQ(sink.files.size(), 1u);
    EXPECT_EQ(sink.files[0].offset, 10u);
    EXPECT_EQ(sink.body, file_data().substr(10));
    EXPECT_EQ(sink.content_length, 10230u);
    EXPECT_EQ(closed("file"), before + 1);
}

TEST_F(FileWrapperTest, StopsAtContentLength)
{
    // the app says 100 bytes (a 206 range): send exactly 100.
    auto sink = get("/file?skip=5&cl=100&status=206%20Partial%20Content");
    EXPECT_EQ(sink.status_code, 206);
    ASSERT_EQ(sink.files.size(), 1u);
    EXPECT_EQ(sink.files[0].count, 100u);
    EXPECT_EQ(sink.body, file_data().substr(5, 100));
    EXPECT_FALSE(sink.content_length_computed);
    EXPECT_EQ(sink.finish_calls, 1);
}

TEST_F(FileWrapperTest, ContentLengthBeyondTheFileAborts)
{
    auto sink = get("/file?cl=20000");
    EXPECT_EQ(sink.body.size(), 10240u);
    EXPECT_EQ(sink.abort_calls, 1) << "the body fell short of Content-Length";
}

TEST_F(FileWrapperTest, HeadSendsNoFile)
{
    auto before = closed("file");
    auto sink = get("/file", "HEAD");
    EXPECT_TRUE(sink.files.empty());
    EXPECT_EQ(sink.content_length, 10240u);
    EXPECT_EQ(sink.finish_calls, 1);
    EXPECT_EQ(closed("file"), before + 1);
}

TEST_F(FileWrapperTest, NonFileObjectsAreIterated)
{
    // BytesIO has no fileno(): iterate read(blksize).
    auto sink = get("/file-bytesio?skip=40");
    EXPECT_TRUE(sink.files.empty());
    EXPECT_EQ(sink.body, file_data().substr(40));
    EXPECT_EQ(sink.chunks.size(), 11u) << "10200 bytes in blocks of 1000";
    EXPECT_FALSE(sink.content_length);
}

TEST_F(FileWrapperTest, SendFileOnlyWhenTheResultIsTheWrapper)
{
    auto sink = get("/file-rewrapped");
    EXPECT_TRUE(sink.files.empty()) << "a generator around the wrapper is iterated";
    EXPECT_EQ(sink.body, file_data());
    EXPECT_EQ(sink.chunks.size(), 3u) << "blocks of 4096";
    EXPECT_EQ(closed("file-rewrapped"), 1);
}

TEST_F(FileWrapperTest, AttributesPassThroughToTheFile)
{
    auto sink = get("/file-attrs");
    EXPECT_EQ(sink.status_code, 200);
    EXPECT_EQ(nlohmann::json::parse(sink.body), nlohmann::json::parse("[3, true, 8192, true]"))
        << "tell/seekable pass through to the file";
}

} // namespace
} // namespace wsgibridge::test
