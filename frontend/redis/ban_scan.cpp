#include "redis/ban_scan.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_set>

#include "redis/connection.hpp"
#include "redis/value_codec.hpp"

namespace sharegate::redis {

namespace {

constexpr const char* kScanCount = "1000";

std::string_view text_of(const redisReply& r) { return {r.str, r.len}; }

}  // namespace

std::optional<BanScan> scan_bans(redisContext* c, std::size_t max_keys) {
    BanScan scan;
    const std::string pattern = std::string(kBanKeyPrefix) + "*";
    std::unordered_set<std::string> seen;
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
        Reply page(static_cast<redisReply*>(
            redisCommand(c, "SCAN %s MATCH %s COUNT %s", cursor.c_str(), pattern.c_str(), kScanCount)));
        ++scan.round_trips;
        // [cursor, [key, ...]]; anything else (an error such as LOADING) ends the read.
        if (!page || page->type != REDIS_REPLY_ARRAY || page->elements != 2 ||
            page->element[0]->type != REDIS_REPLY_STRING || page->element[1]->type != REDIS_REPLY_ARRAY) {
            return std::nullopt;
        }
        cursor = std::string(text_of(*page->element[0]));
        keys.clear();
        const redisReply& found = *page->element[1];
        for (std::size_t i = 0; i < found.elements; ++i) {
            const redisReply& key = *found.element[i];
            if (key.type != REDIS_REPLY_STRING) continue;
            if (seen.size() == max_keys) {
                scan.truncated = true;
                break;
            }
            // SCAN may return a key more than once.
            if (seen.emplace(text_of(key)).second) keys.emplace_back(text_of(key));
        }

        for (const auto& key : keys) redisAppendCommand(c, "GET %b", key.data(), key.size());
        for (const auto& key : keys) {
            void* raw = nullptr;
            if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) return std::nullopt;
            Reply value(static_cast<redisReply*>(raw));
            if (value->type == REDIS_REPLY_NIL) continue;  // expired since SCAN saw it
            auto ban = value->type == REDIS_REPLY_STRING ? parse_ban(text_of(*value)) : std::nullopt;
            if (!ban || ban->is_lift() || ban_key(ban->address) != key) {
                ++scan.ignored;
                continue;
            }
            scan.bans.push_back(std::move(*ban));
        }
    } while (cursor != "0" && !scan.truncated);

    std::sort(scan.bans.begin(), scan.bans.end(),
              [](const BanRecord& a, const BanRecord& b) { return a.address < b.address; });
    return scan;
}

}  // namespace sharegate::redis
