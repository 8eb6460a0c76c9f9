// A byte-exact FastCGI client for tests: builds records (well-formed or not), sends
// them over a unix or TCP socket, and reads the answer back as records. It plays the
// web server in the unit tests of the server and talks to wsgi-fcgi in e2e tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgibridge::test {

namespace fcgi {
inline constexpr std::uint8_t begin_request = 1, abort_request = 2, end_request = 3,
                              params_type = 4, stdin_stream = 5, stdout_stream = 6,
                              stderr_stream = 7, get_values = 9, get_values_result = 10,
                              unknown_type = 11;

/// One record: header + content + `padding` zero bytes (version may be set to anything).
std::string record(std::uint8_t type, std::uint16_t id, std::string_view content,
                   std::uint8_t padding = 0, std::uint8_t version = 1);
std::string pair(std::string_view name, std::string_view value);
std::string begin(std::uint16_t id, std::uint16_t role = 1, bool keep_conn = false);
/// PARAMS records for `pairs` (split at 65535), then the empty PARAMS record.
std::string params(std::uint16_t id, const std::vector<std::pair<std::string, std::string>>& pairs);
/// STDIN records for `body` (split at 65535), then the empty STDIN record.
std::string stdin_body(std::uint16_t id, std::string_view body);
/// A whole GET/POST request: begin + params + stdin.
std::string request(std::uint16_t id, const std::vector<std::pair<std::string, std::string>>& pairs,
                    std::string_view body = {}, bool keep_conn = false);
/// Typical params for `method` `uri` (SCRIPT_NAME "", PATH_INFO from the uri).
std::vector<std::pair<std::string, std::string>> cgi_params(std::string method, std::string uri);
} // namespace fcgi

struct FcgiRecord
{
    std::uint8_t version = 0, type = 0;
    std::uint16_t id = 0;
    std::string content;
    std::uint8_t padding = 0;
};

/// What came back for one request id.
struct FcgiReply
{
    std::string stdout_data;
    std::string stderr_data;
    bool ended = false; ///< END_REQUEST seen
    std::uint32_t app_status = 0;
    std::uint8_t protocol_status = 0xff;
    std::size_t stdout_records = 0;
    std::size_t empty_stdout_records = 0;
    std::size_t max_stdout_record = 0;
    bool padding_ok = true; ///< every record padded to a multiple of 8

    /// "Status: 200 OK" → 200 (0 when absent).
    int status() const;
    std::string header(std::string_view name) const;
    std::string body() const;
};

class RawFcgiClient
{
public:
    /// Connects to 127.0.0.1:port.
    explicit RawFcgiClient(unsigned short port);
    explicit RawFcgiClient(const std::filesystem::path& unix_socket);
    ~RawFcgiClient();
    RawFcgiClient(const RawFcgiClient&) = delete;
    RawFcgiClient& operator=(const RawFcgiClient&) = delete;

    bool send(std::string_view bytes);
    /// Sends in pieces of `chunk` bytes with a short pause between them.
    bool send_slowly(std::string_view bytes, std::size_t chunk);
    /// The next record, or nullopt-like (type 0) on close/timeout.
    FcgiRecord read_record(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Reads records until END_REQUEST for `id` (other ids are kept for later calls).
    FcgiReply read_reply(std::uint16_t id,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// True when the server closed the connection within `timeout` (reads to EOF).
    bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    void shutdown_write();
    int fd() const noexcept { return fd_; }

private:
    bool fill(std::chrono::milliseconds timeout);
    int fd_ = -1;
    std::string buffer_;
    std::map<std::uint16_t, FcgiReply> pending_;
};

} // namespace wsgibridge::test
