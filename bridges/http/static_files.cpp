#include "http/static_files.hpp"

#include "model/uri.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace wsgibridge::http {
namespace {

constexpr std::array<std::string_view, 7> day_names{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool parse_uint(std::string_view text, std::uint64_t& out) noexcept
{
    if (text.empty()) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

bool parse_int(std::string_view text, int& out) noexcept
{
    if (text.empty()) return false;
    for (char c : text)
        if (c < '0' || c > '9') return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

int month_index(std::string_view m) noexcept
{
    for (std::size_t i = 0; i < month_names.size(); ++i)
        if (month_names[i] == m) return static_cast<int>(i);
    return -1;
}

/// "08:49:37"
bool parse_clock(std::string_view t, std::tm& tm) noexcept
{
    return t.size() == 8 && t[2] == ':' && t[5] == ':' && parse_int(t.substr(0, 2), tm.tm_hour) &&
           parse_int(t.substr(3, 2), tm.tm_min) && parse_int(t.substr(6, 2), tm.tm_sec) &&
           tm.tm_hour < 24 && tm.tm_min < 60 && tm.tm_sec <= 60;
}

/// open(2) flags of a file to serve. O_NONBLOCK: opening a FIFO for reading otherwise
/// waits for a writer, holding the serving thread for good (nginx opens with it for the
/// same reason); a regular file ignores it, and anything else is refused after fstat.
constexpr int serve_open_flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

/// Opens `relative` below `root` without ever leaving it: openat2(RESOLVE_BENEATH)
/// refuses "..", absolute paths and symlinks whose target lies outside. On kernels
/// without openat2 (before 5.6), the resolved path must start with the root's realpath.
util::UniqueFd open_beneath(int root, const std::string& root_path, const std::string& relative)
{
    open_how how{};
    how.flags = serve_open_flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, root, relative.c_str(), &how, sizeof how);
    if (fd >= 0 || errno != ENOSYS) return util::UniqueFd(static_cast<int>(fd));
    std::string full = root_path + "/" + relative;
    char resolved[PATH_MAX];
    if (!::realpath(full.c_str(), resolved)) return {};
    std::string_view r(resolved);
    if (!r.starts_with(root_path) || (r.size() > root_path.size() && r[root_path.size()] != '/'))
        return {};
    return util::UniqueFd(::open(resolved, serve_open_flags | O_NOFOLLOW));
}

struct OpenFile
{
    util::UniqueFd fd;
    struct stat st
    {
    };
};

/// A regular file below the root, or nothing.
bool open_regular(int root, const std::string& root_path, const std::string& relative,
                  OpenFile& out)
{
    out.fd = open_beneath(root, root_path, relative);
    if (!out.fd) return false;
    if (::fstat(out.fd.get(), &out.st) != 0 || !S_ISREG(out.st.st_mode)) {
        out.fd.reset();
        return false;
    }
    return true;
}

std::string make_etag(const struct stat& st, std::string_view suffix)
{
    std::array<char, 64> buf;
    auto mtime_ns = static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000000000ull +
                    static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
    char* p = buf.data();
    *p++ = '"';
    p = std::to_chars(p, buf.data() + 30, static_cast<std::uint64_t>(st.st_size), 16).ptr;
    *p++ = '-';
    p = std::to_chars(p, buf.data() + 60, mtime_ns, 16).ptr;
    std::string tag(buf.data(), p);
    tag += suffix;
    tag += '"';
    return tag;
}

/// If-None-Match (RFC 9110 §13.1.2): weak comparison against a list, or "*".
bool none_match(std::string_view header, std::string_view etag) noexcept
{
    auto opaque = [](std::string_view t) {
        t = trim(t);
        if (t.starts_with("W/")) t.remove_prefix(2);
        return t;
    };
    while (!header.empty()) {
        auto comma = header.find(',');
        auto item = trim(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        if (item == "*" || (!item.empty() && opaque(item) == opaque(etag))) return true;
    }
    return false;
}

void log_refusal(const Logger& log, const Request& req, std::string_view why)
{
    std::string shown(req.target.substr(0, 200));
    for (char& c : shown)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    log.warning(concat("404 to ", req.remote_addr, ": ", req.method, " ", shown, ": ", why,
                       " (--static-map)"));
}

/// A short text/plain answer (404, 405, 416) with extra headers.
void answer(ResponseSink& sink, int code, std::string_view status, std::vector<Header> headers)
{
    std::string body = std::string(status) + "\n";
    headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
    ResponseHead head;
    head.status_code = code;
    head.status = status;
    head.headers = headers;
    head.content_length = body.size();
    head.content_length_computed = true;
    if (sink.start(head)) return;
    if (sink.write(body)) return;
    (void)sink.finish();
}

} // namespace

StaticMapping parse_static_map(std::string_view spec)
{
    auto eq = spec.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size() || !spec.starts_with('/'))
        throw std::invalid_argument(concat(
            "--static-map: expected PREFIX=DIR with PREFIX starting with '/', got '", spec, "'"));
    StaticMapping m{std::string(spec.substr(0, eq)), std::string(spec.substr(eq + 1))};
    while (m.prefix.ends_with('/'))
        m.prefix.pop_back();
    return m;
}

PathVerdict static_relative_path(std::string_view target, std::string_view prefix,
                                 std::string& relative)
{
    auto raw = split_target(target).path;
    // Without escapes the decoded path is the raw one: most requests for the application
    // leave here without an allocation.
    if (raw.find('%') == std::string_view::npos && !raw.starts_with(prefix))
        return PathVerdict::not_mapped;
    std::string decoded;
    percent_decode_append(raw, decoded); // once: "%252e" stays "%2e"
    if (!decoded.starts_with(prefix)) return PathVerdict::not_mapped;
    std::string_view rest = std::string_view(decoded).substr(prefix.size());
    if (!rest.empty() && rest.front() != '/') return PathVerdict::not_mapped; // "/staticx"
    if (decoded.find('\0') != std::string::npos || decoded.find('\\') != std::string::npos)
        return PathVerdict::refused;
    relative.clear();
    while (!rest.empty()) {
        rest.remove_prefix(1); // the '/'
        auto seg = rest.substr(0, rest.find('/'));
        rest.remove_prefix(seg.size());
        if (seg.empty() || seg == ".") continue;
        if (seg == "..") return PathVerdict::refused;
        if (!relative.empty()) relative += '/';
        relative.append(seg);
    }
    return PathVerdict::ok;
}

RangeVerdict parse_range(std::string_view header, std::uint64_t size, ByteRange& range)
{
    header = trim(header);
    if (header.size() < 6 || !iequals(header.substr(0, 6), "bytes=")) return RangeVerdict::ignore;
    auto spec = trim(header.substr(6));
    if (spec.find(',') != std::string_view::npos) return RangeVerdict::ignore;
    auto dash = spec.find('-');
    if (dash == std::string_view::npos) return RangeVerdict::ignore;
    auto first_text = trim(spec.substr(0, dash)), last_text = trim(spec.substr(dash + 1));
    std::uint64_t first = 0, last = 0;
    if (first_text.empty()) { // suffix: the last N bytes
        if (!parse_uint(last_text, last)) return RangeVerdict::ignore;
        if (last == 0 || size == 0) return RangeVerdict::unsatisfiable;
        range.first = last >= size ? 0 : size - last;
        range.last = size - 1;
        return RangeVerdict::satisfiable;
    }
    if (!parse_uint(first_text, first)) return RangeVerdict::ignore;
    if (last_text.empty())
        last = UINT64_MAX;
    else if (!parse_uint(last_text, last) || last < first)
        return RangeVerdict::ignore;
    if (first >= size) return RangeVerdict::unsatisfiable;
    range.first = first;
    range.last = last >= size ? size - 1 : last;
    return RangeVerdict::satisfiable;
}

std::string_view content_type_for(std::string_view name) noexcept
{
    struct Type
    {
        std::string_view ext, type;
    };
    static constexpr std::array<Type, 28> types{{
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"map", "application/json"},
        {"txt", "text/plain; charset=utf-8"},
        {"csv", "text/csv; charset=utf-8"},
        {"xml", "application/xml"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"avif", "image/avif"},
        {"ico", "image/vnd.microsoft.icon"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"ttf", "font/ttf"},
        {"otf", "font/otf"},
        {"pdf", "application/pdf"},
        {"wasm", "application/wasm"},
        {"mp4", "video/mp4"},
        {"webm", "video/webm"},
        {"mp3", "audio/mpeg"},
        {"zip", "application/zip"},
    }};
    auto slash = name.rfind('/');
    auto base = slash == std::string_view::npos ? name : name.substr(slash + 1);
    auto dot = base.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
    auto ext = base.substr(dot + 1);
    for (const auto& t : types)
        if (iequals(t.ext, ext)) return t.type;
    return "application/octet-stream";
}

bool parse_http_date(std::string_view text, std::time_t& out) noexcept
{
    text = trim(text);
    std::tm tm{};
    int year = 0;
    if (text.size() == 29 && text[3] == ',' && text.ends_with(" GMT")) {
        // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
        if (text[4] != ' ' || text[7] != ' ' || text[11] != ' ' || text[16] != ' ' ||
            !parse_int(text.substr(5, 2), tm.tm_mday) || !parse_int(text.substr(12, 4), year) ||
            !parse_clock(text.substr(17, 8), tm))
            return false;
        tm.tm_mon = month_index(text.substr(8, 3));
    } else if (auto comma = text.find(", ");
               comma != std::string_view::npos && comma > 3 && text.ends_with(" GMT")) {
        // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
        auto rest = text.substr(comma + 2);
        if (rest.size() != 22 || rest[2] != '-' || rest[6] != '-' || rest[9] != ' ' ||
            !parse_int(rest.substr(0, 2), tm.tm_mday) || !parse_int(rest.substr(7, 2), year) ||
            !parse_clock(rest.substr(10, 8), tm))
            return false;
        tm.tm_mon = month_index(rest.substr(3, 3));
        year += year < 70 ? 2000 : 1900; // RFC 9110 §5.6.7: 50-years-in-the-future rule, roughly
    } else if (text.size() == 24 && text[3] == ' ' && text[7] == ' ') {
        // asctime: "Sun Nov  6 08:49:37 1994"
        auto day = trim(text.substr(8, 2));
        if (text[10] != ' ' || text[19] != ' ' || !parse_int(day, tm.tm_mday) ||
            !parse_clock(text.substr(11, 8), tm) || !parse_int(text.substr(20, 4), year))
            return false;
        tm.tm_mon = month_index(text.substr(4, 3));
    } else {
        return false;
    }
    if (tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || year < 1970) return false;
    tm.tm_year = year - 1900;
    out = ::timegm(&tm);
    return out != static_cast<std::time_t>(-1);
}

std::string format_http_date(std::time_t t)
{
    // Calendar arithmetic (std::chrono), not gmtime_r: glibc's takes the time-zone lock on
    // every call, and this runs for every static response.
    using namespace std::chrono;
    const sys_seconds at{seconds{t}};
    const auto day = floor<days>(at);
    const year_month_day ymd{day};
    const hh_mm_ss clock{at - day};
    char buf[40];
    auto two = [](char* p, long v) {
        p[0] = static_cast<char>('0' + v / 10);
        p[1] = static_cast<char>('0' + v % 10);
    };
    std::string out;
    out.reserve(29);
    out += day_names[weekday{day}.c_encoding()];
    out += ", ";
    two(buf, static_cast<unsigned>(ymd.day()));
    out.append(buf, 2);
    out += ' ';
    out += month_names[static_cast<unsigned>(ymd.month()) - 1];
    out += ' ';
    auto year_end = std::to_chars(buf, buf + 12, static_cast<int>(ymd.year())).ptr;
    out.append(buf, year_end);
    out += ' ';
    two(buf, clock.hours().count());
    two(buf + 3, clock.minutes().count());
    two(buf + 6, clock.seconds().count());
    buf[2] = buf[5] = ':';
    out.append(buf, 8);
    out += " GMT";
    return out;
}

AcceptedEncodings accepted_encodings(std::string_view header) noexcept
{
    AcceptedEncodings out;
    bool gzip_said = false, br_said = false, star = false;
    while (!header.empty()) {
        auto comma = header.find(',');
        auto item = trim(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        auto semi = item.find(';');
        auto coding = trim(item.substr(0, semi));
        bool allowed = true;
        if (semi != std::string_view::npos) {
            // "q=0", "q=0.0", "q=0.000" refuse (RFC 9110 §12.4.2); any other weight allows.
            auto param = trim(item.substr(semi + 1));
            if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
                auto q = trim(param.substr(2));
                allowed = false;
                for (char c : q)
                    if (c >= '1' && c <= '9') allowed = true;
            }
        }
        if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
            out.gzip = allowed;
            gzip_said = true;
        } else if (iequals(coding, "br")) {
            out.br = allowed;
            br_said = true;
        } else if (coding == "*") {
            star = allowed;
        }
    }
    if (!gzip_said) out.gzip = star;
    if (!br_said) out.br = star;
    return out;
}

std::span<const EncodedVariant> variants_to_try(AcceptedEncodings accepted) noexcept
{
    static constexpr std::array<EncodedVariant, 2> both{
        {{".br", "br", "-br"}, {".gz", "gzip", "-gz"}}};
    std::span<const EncodedVariant> all(both);
    if (accepted.br && accepted.gzip) return all;
    if (accepted.br) return all.first(1);
    if (accepted.gzip) return all.subspan(1);
    return {};
}

StaticFiles::StaticFiles(const std::vector<StaticMapping>& mappings)
{
    for (const auto& m : mappings) {
        char resolved[PATH_MAX];
        util::UniqueFd fd;
        if (::realpath(m.dir.c_str(), resolved))
            fd.reset(::open(resolved, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!fd)
            throw std::invalid_argument(
                concat("--static-map ", m.prefix, "=", m.dir, ": not a readable directory"));
        roots_.push_back({m.prefix, resolved, std::move(fd)});
    }
    // The longest prefix first: "/static/img" wins over "/static".
    std::sort(roots_.begin(), roots_.end(),
              [](const Root& a, const Root& b) { return a.prefix.size() > b.prefix.size(); });
}

bool StaticFiles::serve(const Request& req, ResponseSink& sink, const Logger& log) const
{
    std::string relative;
    const Root* root = nullptr;
    for (const auto& r : roots_) {
        auto verdict = static_relative_path(req.target, r.prefix, relative);
        if (verdict == PathVerdict::not_mapped) continue;
        if (verdict == PathVerdict::refused) {
            log_refusal(log, req, "'..', NUL or backslash in the path");
            answer(sink, 404, "404 Not Found", {});
            return true;
        }
        root = &r;
        break;
    }
    if (!root) return false;

    const bool head_only = req.method == "HEAD";
    if (req.method != "GET" && !head_only) {
        answer(sink, 405, "405 Method Not Allowed", {{"Allow", "GET, HEAD"}});
        return true;
    }

    OpenFile file;
    errno = 0;
    if (relative.empty() || !open_regular(root->fd.get(), root->dir, relative, file)) {
        // Missing, a directory, or outside the root (openat2 says EXDEV/ELOOP): one answer.
        if (errno == EXDEV || errno == ELOOP)
            log_refusal(log, req, "the file resolves outside the directory");
        answer(sink, 404, "404 Not Found", {});
        return true;
    }

    // Precompressed variants: name.br, then name.gz, only those the client takes (a
    // plain request costs no failed openat2). Which representation is sent depends on
    // Accept-Encoding for any file, so every one says Vary (RFC 9110 §12.5.5): a cache
    // never hands the identity response of a file it did not know had variants to every
    // client, and the header does not depend on lookups a request did not make.
    std::string_view encoding, etag_suffix;
    auto accepted = accepted_encodings(req.headers.find("Accept-Encoding").value_or(""));
    for (const auto& v : variants_to_try(accepted)) {
        OpenFile variant;
        if (!open_regular(root->fd.get(), root->dir, concat(relative, v.suffix), variant)) continue;
        file = std::move(variant);
        encoding = v.coding;
        etag_suffix = v.etag_suffix;
        break;
    }

    const auto size = static_cast<std::uint64_t>(file.st.st_size);
    const std::string etag = make_etag(file.st, etag_suffix);
    const std::string last_modified = format_http_date(file.st.st_mtim.tv_sec);
    std::vector<Header> headers;
    headers.reserve(8);
    headers.push_back({"ETag", etag});
    headers.push_back({"Last-Modified", last_modified});
    headers.push_back({"Vary", "Accept-Encoding"});

    // RFC 9110 §13.2.2: If-None-Match, else If-Modified-Since.
    bool not_modified = false;
    if (auto inm = req.headers.find("If-None-Match")) {
        not_modified = none_match(*inm, etag);
    } else if (auto ims = req.headers.find("If-Modified-Since")) {
        std::time_t since = 0;
        not_modified = parse_http_date(*ims, since) && file.st.st_mtim.tv_sec <= since;
    }
    if (not_modified) {
        ResponseHead head;
        head.status_code = 304;
        head.status = "304 Not Modified";
        head.headers = headers;
        head.body_allowed = false;
        if (!sink.start(head)) (void)sink.finish();
        return true;
    }

    headers.push_back({"Content-Type", content_type_for(relative)});
    headers.push_back({"Accept-Ranges", "bytes"});
    if (!encoding.empty()) headers.push_back({"Content-Encoding", encoding});

    ByteRange range{0, size ? size - 1 : 0};
    RangeVerdict verdict = RangeVerdict::ignore;
    if (auto r = req.headers.find("Range"); r && !head_only) {
        verdict = parse_range(*r, size, range);
        // If-Range (RFC 9110 §13.1.5): the range only if the representation is unchanged.
        if (auto if_range = req.headers.find("If-Range")) {
            std::time_t date = 0;
            bool same = trim(*if_range).starts_with('"')
                            ? trim(*if_range) == etag
                            : parse_http_date(*if_range, date) && date == file.st.st_mtim.tv_sec;
            if (!same) verdict = RangeVerdict::ignore;
        }
    }
    std::string content_range;
    if (verdict == RangeVerdict::unsatisfiable) {
        content_range = concat("bytes */", size);
        headers.resize(headers.size() - (encoding.empty() ? 2 : 3)); // no type of an absent body
        headers.push_back({"Content-Range", content_range});
        answer(sink, 416, "416 Range Not Satisfiable", std::move(headers));
        return true;
    }
    ResponseHead head;
    head.status_code = 200;
    head.status = "200 OK";
    std::uint64_t offset = 0, length = size;
    if (verdict == RangeVerdict::satisfiable) {
        offset = range.first;
        length = range.last - range.first + 1;
        content_range = concat("bytes ", range.first, "-", range.last, "/", size);
        headers.push_back({"Content-Range", content_range});
        head.status_code = 206;
        head.status = "206 Partial Content";
    }
    head.headers = headers;
    head.content_length = length;
    head.content_length_computed = true;
    head.body_allowed = !head_only;
    if (sink.start(head)) return true;
    if (!head_only && length > 0 && sink.send_file(file.fd.get(), offset, length)) {
        sink.abort("static file: sendfile failed");
        return true;
    }
    (void)sink.finish();
    return true;
}

} // namespace wsgibridge::http
