#include "ctl/ban_commands.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string_view>
#include <vector>

#include "redis/ban_scan.hpp"
#include "redis/connection.hpp"
#include "redis/value_codec.hpp"
#include "server/admission.hpp"

namespace sharegate::ctl {

namespace {

using redis::BanRecord;
using redis::Reply;

void fail(const std::string& reason) { std::fprintf(stderr, "sharegate-ctl: %s\n", reason.c_str()); }

// Why the last command got no usable answer: the connection's error, or Redis's own.
std::string redis_error(const redisContext* c, const redisReply* reply) {
    if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) return "Redis: " + std::string(reply->str, reply->len);
    return "Redis: " + std::string(c->err != 0 ? c->errstr : "unexpected reply");
}

// The reply to the next pipelined command, or nothing (the reason already printed) when
// the connection failed or Redis answered with an error.
std::optional<Reply> next_reply(redisContext* c) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
        fail(redis_error(c, nullptr));
        return std::nullopt;
    }
    Reply reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) {
        fail(redis_error(c, reply.get()));
        return std::nullopt;
    }
    return reply;
}

// Reason and name as one line of a listing: a tab or newline would break its columns.
std::string printable(std::string_view text) {
    std::string out(text);
    for (char& ch : out) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
    }
    return out;
}

// Numeric order (10.0.0.2 before 10.0.0.10, IPv4 before IPv6): the addresses' bytes.
bool address_less(const BanRecord& a, const BanRecord& b) {
    const auto x = server::IpAddress::parse(a.address);
    const auto y = server::IpAddress::parse(b.address);
    if (x && y && x->bytes != y->bytes) return x->bytes < y->bytes;
    return a.address < b.address;
}

}  // namespace

int list_bans(redisContext* c, std::int64_t now_unix_ms) {
    auto scan = redis::scan_bans(c);
    if (!scan) {
        fail(redis_error(c, nullptr));
        return 1;
    }
    if (scan->truncated)
        fail("warning: more than " + std::to_string(redis::kMaxBansRead) + " ban keys; listing the first");
    std::sort(scan->bans.begin(), scan->bans.end(), address_less);
    for (const BanRecord& ban : scan->bans) {
        // Whole seconds, rounded up: a ban with 200 ms left still shows as held.
        const std::int64_t left_ms = std::max<std::int64_t>(0, ban.until_unix_ms - now_unix_ms);
        const long long left_s = static_cast<long long>((left_ms + 999) / 1000);
        std::printf("%s\t%llds\toffence %u\t%s\tby %s\n", ban.address.c_str(), left_s, ban.offence,
                    printable(ban.reason).c_str(), printable(ban.by).c_str());
    }
    if (scan->bans.empty()) std::printf("no bans\n");
    return 0;
}

int lift_ban(redisContext* c, const std::string& address, const std::string& by) {
    BanRecord lift;
    lift.address = address;
    lift.reason = "lifted";
    lift.by = by;
    const std::string key = redis::ban_key(address);
    const std::string json = redis::ban_json(lift);
    redisAppendCommand(c, "DEL %b", key.data(), key.size());
    redisAppendCommand(c, "PUBLISH %s %b", redis::kBanChannel, json.data(), json.size());
    const auto deleted = next_reply(c);
    const auto published = next_reply(c);
    if (!deleted || !published) return 1;
    if ((*deleted)->type != REDIS_REPLY_INTEGER || (*deleted)->integer == 0) {
        fail("no ban on " + address);
        return 1;
    }
    std::printf("lifted the ban on %s\n", address.c_str());
    return 0;
}

int ban(redisContext* c, const std::string& address, std::int64_t seconds, const std::string& reason,
        const std::string& by, std::int64_t now_unix_ms) {
    const std::string key = redis::ban_key(address);
    redisAppendCommand(c, "GET %b", key.data(), key.size());
    const auto held = next_reply(c);
    if (!held) return 1;

    BanRecord ban;
    ban.address = address;
    ban.until_unix_ms = now_unix_ms + seconds * 1000;
    ban.offence = 1;
    if ((*held)->type == REDIS_REPLY_STRING) {
        const auto before = redis::parse_ban(std::string_view((*held)->str, (*held)->len));
        if (before && !before->is_lift()) ban.offence = std::max(before->offence, before->offence + 1);  // no wrap to 0
    }
    ban.reason = reason;
    ban.by = by;
    const std::string json = redis::ban_json(ban);
    redisAppendCommand(c, "SET %b %b PX %lld", key.data(), key.size(), json.data(), json.size(),
                       static_cast<long long>(seconds * 1000));
    redisAppendCommand(c, "PUBLISH %s %b", redis::kBanChannel, json.data(), json.size());
    const auto set = next_reply(c);
    const auto published = next_reply(c);
    if (!set || !published) return 1;
    std::printf("banned %s for %llds (offence %u)\n", address.c_str(), static_cast<long long>(seconds), ban.offence);
    return 0;
}

}  // namespace sharegate::ctl
