#include "privileges.hpp"

#include <cerrno>
#include <charconv>
#include <grp.h>
#include <pwd.h>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

namespace wsgibridge::cli {
namespace {

/// "65534" → 65534; nullopt for anything but digits (then it is a name).
template <class Id>
std::optional<Id> parse_id(std::string_view text)
{
    Id value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

/// The passwd entry of --user (a name, or a uid that may have none).
struct UserEntry
{
    uid_t uid = 0;
    std::optional<gid_t> primary_gid; ///< none for a bare uid without a passwd entry
    std::string name;                 ///< the passwd name, or the number as given
    bool has_entry = false;
};

UserEntry lookup_user(const std::string& user)
{
    passwd entry{}, *found = nullptr;
    std::vector<char> buffer(16384);
    auto uid = parse_id<uid_t>(user);
    int rc = uid ? ::getpwuid_r(*uid, &entry, buffer.data(), buffer.size(), &found)
                 : ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (found) return {found->pw_uid, found->pw_gid, found->pw_name, true};
    if (uid) return {*uid, std::nullopt, user, false}; // a uid needs no entry (gunicorn, uWSGI)
    if (rc != 0 && rc != ENOENT && rc != ESRCH)
        throw std::system_error(rc, std::generic_category(), "--user " + user);
    throw UsageError(concat("--user ", user, ": no such user"));
}

gid_t lookup_group(const std::string& group)
{
    if (auto gid = parse_id<gid_t>(group)) return *gid;
    ::group entry{}, *found = nullptr;
    std::vector<char> buffer(65536); // a group lists its members: it can be large
    int rc = ::getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (found) return found->gr_gid;
    if (rc != 0 && rc != ENOENT && rc != ESRCH)
        throw std::system_error(rc, std::generic_category(), "--group " + group);
    throw UsageError(concat("--group ", group, ": no such group"));
}

/// The user's supplementary groups as initgroups(3) would set them: every group of
/// /etc/group (or NSS) listing the user, plus `gid`.
std::vector<gid_t> supplementary_groups(const UserEntry& user, gid_t gid)
{
    if (!user.has_entry) return {gid};
    std::vector<gid_t> groups(64);
    for (;;) {
        int count = static_cast<int>(groups.size());
        if (::getgrouplist(user.name.c_str(), gid, groups.data(), &count) >= 0) {
            groups.resize(static_cast<std::size_t>(count));
            return groups;
        }
        groups.resize(static_cast<std::size_t>(count) + 64); // count: how many it needs
    }
}

std::string name_of_uid(uid_t uid)
{
    passwd entry{}, *found = nullptr;
    std::vector<char> buffer(16384);
    ::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
    return found ? concat(uid, " (", found->pw_name, ")") : concat(uid);
}

} // namespace

void add_privilege_options(ArgParser& p, PrivilegeOptions& o)
{
    p.option("--user", "NAME|UID",
             "started as root: bind, write the pidfile and read the TLS key, then run as this "
             "user (its supplementary groups, setgid, setuid) before the application is "
             "imported and any worker forked",
             [&o](std::string_view v) {
                 if (v.empty()) throw UsageError("--user: expected a user name or uid");
                 o.user = v;
             });
    p.option("--group", "NAME|GID", "with --user: run as this group (default: the user's own)",
             [&o](std::string_view v) {
                 if (v.empty()) throw UsageError("--group: expected a group name or gid");
                 o.group = v;
             });
    p.flag("--allow-root",
           "started as root without --user: run the application as root anyway (refused "
           "otherwise)",
           [&o] { o.allow_root = true; });
}

std::optional<Identity> plan_privileges(const PrivilegeOptions& o)
{
    if (!o.group.empty() && o.user.empty())
        throw UsageError(concat("--group ", o.group, " needs --user (the user to run as)"));
    const bool root = ::geteuid() == 0;
    if (o.user.empty()) {
        if (root && !o.allow_root)
            throw UsageError(
                "refusing to run the application as root: give --user NAME (and --group NAME) "
                "to serve as that user once the socket is bound, or --allow-root to run it as "
                "root anyway");
        return std::nullopt;
    }
    UserEntry user = lookup_user(o.user);
    gid_t gid = 0;
    if (!o.group.empty())
        gid = lookup_group(o.group);
    else if (user.primary_gid)
        gid = *user.primary_gid;
    else
        throw UsageError(concat("--user ", o.user,
                                ": no such user in the passwd database; give "
                                "--group GID too"));
    if (!root) {
        // Only root can change users: an unprivileged start as that very user is fine
        // (a unit with User= that also says --user), anything else cannot be done.
        if (user.uid != ::getuid() || user.uid != ::geteuid())
            throw UsageError(concat("--user ", o.user,
                                    ": only root can switch users, and this "
                                    "process runs as uid ",
                                    name_of_uid(::geteuid())));
        if (!o.group.empty() && (gid != ::getgid() || gid != ::getegid()))
            throw UsageError(concat("--group ", o.group,
                                    ": only root can switch groups, and this "
                                    "process runs as gid ",
                                    ::getegid()));
        return std::nullopt;
    }
    if (user.uid == 0 && !o.allow_root)
        throw UsageError(concat("--user ", o.user,
                                " runs the application as root: add --allow-root if that is "
                                "meant, or name an unprivileged user"));
    return Identity{user.name, user.uid, gid, supplementary_groups(user, gid)};
}

void chown_socket(const std::string& path, const Identity& identity)
{
    if (::chown(path.c_str(), identity.uid, identity.gid) != 0)
        throw std::system_error(errno, std::generic_category(),
                                concat("--user ", identity.user, ": cannot chown ", path));
}

void drop_privileges(const Identity& id)
{
    auto fail = [&](const char* call) {
        throw std::system_error(errno, std::generic_category(),
                                concat("--user ", id.user, ": ", call));
    };
    // Groups first: once the uid is not 0, neither setgroups nor setgid are allowed.
    if (::setgroups(id.groups.size(), id.groups.data()) != 0) fail("setgroups");
    if (::setresgid(id.gid, id.gid, id.gid) != 0) fail("setresgid");
    if (::setresuid(id.uid, id.uid, id.uid) != 0) fail("setresuid");

    uid_t ruid = 0, euid = 0, suid = 0;
    gid_t rgid = 0, egid = 0, sgid = 0;
    ::getresuid(&ruid, &euid, &suid);
    ::getresgid(&rgid, &egid, &sgid);
    if (ruid != id.uid || euid != id.uid || suid != id.uid || rgid != id.gid || egid != id.gid ||
        sgid != id.gid)
        throw std::runtime_error(concat("--user ", id.user, ": the process is uid ", euid, " gid ",
                                        egid, " after the drop, not ", describe(id)));
    // The saved set-user-ID is gone too: nothing may get root back (the check
    // gunicorn and uWSGI skip; setuid(2) on a non-root saved uid must fail).
    if (id.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0 || (id.gid != 0 && ::setgid(0) == 0)))
        throw std::runtime_error(concat("--user ", id.user,
                                        ": root could be regained after "
                                        "dropping privileges; refusing to go on"));
}

std::string describe(const Identity& id)
{
    return concat("uid ", id.uid, " (", id.user, "), gid ", id.gid, ", ", id.groups.size(),
                  " supplementary group(s)");
}

} // namespace wsgibridge::cli
