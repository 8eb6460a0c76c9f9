// The in-process call API (call.hpp): an owning request turned into the one request
// model, a body over its string, and a sink that collects the response.
#include "wsgibridge/call.hpp"

#include "model/uri.hpp"

#include <algorithm>
#include <stdexcept>

namespace wsgibridge {
namespace {

class StringBody final : public BodySource
{
public:
    explicit StringBody(std::string_view data) noexcept : data_(data) {}

    Result<std::size_t> read(std::span<char> buf) override
    {
        std::size_t n = std::min(buf.size(), data_.size() - pos_);
        std::copy_n(data_.data() + pos_, n, buf.data());
        pos_ += n;
        return n;
    }
    std::optional<std::uint64_t> remaining() const noexcept override { return data_.size() - pos_; }

private:
    std::string_view data_;
    std::size_t pos_ = 0;
};

class CollectingSink final : public ResponseSink
{
public:
    explicit CollectingSink(CallResponse& out) noexcept : out_(out) {}

    std::error_code start(const ResponseHead& head) override
    {
        out_.status = head.status_code;
        std::string_view status = head.status;
        auto space = status.find(' ');
        out_.reason =
            space == std::string_view::npos ? std::string() : std::string(status.substr(space + 1));
        out_.headers.clear();
        for (const auto& h : head.headers)
            out_.headers.push_back({std::string(h.name), std::string(h.value)});
        // What an HTTP client would see: the front ends add the length they computed.
        if (head.content_length_computed && head.content_length)
            out_.headers.push_back({"Content-Length", std::to_string(*head.content_length)});
        return {};
    }
    std::error_code write(std::span<const char> data) override
    {
        out_.body.append(data.data(), data.size());
        return {};
    }
    std::error_code finish() override
    {
        out_.complete = true;
        return {};
    }
    void abort(std::string_view reason) override
    {
        out_.complete = false;
        if (out_.error.empty()) out_.error = reason;
    }
    void app_failed(std::string_view error, std::string_view traceback) override
    {
        if (!out_.error.empty()) return; // the first failure is the cause
        out_.error = error;
        out_.traceback = traceback;
    }

private:
    CallResponse& out_;
};

bool method_defines_body(std::string_view method) noexcept
{
    return method == "POST" || method == "PUT" || method == "PATCH";
}

} // namespace

std::optional<std::string_view> CallResponse::header(std::string_view name) const noexcept
{
    for (const auto& h : headers)
        if (iequals(h.name, name)) return std::string_view(h.value);
    return std::nullopt;
}

CallResponse call(RequestHandler& app, const CallRequest& in)
{
    Request req;
    req.method = in.method;
    req.target = in.target;
    TargetParts parts = split_target(in.target);
    std::string decoded;
    percent_decode_append(parts.path, decoded);
    req.query_string = parts.query;
    if (in.script_name.empty()) {
        req.path_info = decoded;
    } else if (!split_mount(decoded, in.script_name, req.script_name, req.path_info)) {
        throw std::invalid_argument("call: target '" + in.target + "' is not under script_name '" +
                                    in.script_name + "'");
    }
    req.protocol = in.protocol;
    req.scheme = in.scheme;
    req.server_name = in.server_name;
    req.server_port = in.server_port;
    req.remote_addr = in.remote_addr;
    req.remote_port = in.remote_port;
    req.headers.reserve(in.headers.size());
    for (const auto& h : in.headers)
        if (!iequals(h.name, "Content-Length")) req.headers.add(h.name, h.value);
    if (!in.body.empty() || method_defines_body(in.method)) req.content_length = in.body.size();

    CallResponse out;
    StringBody body(in.body);
    CollectingSink sink(out);
    app.handle(req, body, sink);
    return out;
}

} // namespace wsgibridge
