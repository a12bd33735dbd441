#include "redis/value_codec.hpp"

#include <arpa/inet.h>
#include <simdjson.h>

#include <cstring>
#include <limits>
#include <utility>

#include "sharegate/address.hpp"
#include "sharegate/decimal.hpp"

namespace sharegate::redis {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

// Keys hold JSON (a string WITH its quotes) while pub/sub messages are raw; both forms
// are accepted everywhere so that a writer changing its mind does not blind us.
std::string_view unquote(std::string_view s) {
    s = trim(s);
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    return s;
}

// One parser per thread: the store's command and subscriber threads each keep theirs,
// so steady-state parsing reuses its buffers, as the per-thread parsers it replaces did.
simdjson::dom::parser& thread_parser() {
    thread_local simdjson::dom::parser parser;
    return parser;
}

// A positive integer below 2^64. A JSON integer is held to the decimal rule's "zero is
// no count"; an integral double (4000.0, 4e3) is accepted as well, deliberately: these
// values come from the pool's back-end, a trusted writer whose JSON library may print a
// count as a double, and refusing its varDiff would silently leave a miner on the pool
// minimum. What miners send is not read this way (protocol::parse_difficulty).
std::optional<std::uint64_t> positive_integer(simdjson::dom::element e) {
    std::uint64_t u = 0;
    if (e.get_uint64().get(u) == simdjson::SUCCESS) {
        if (u == 0) return std::nullopt;
        return u;
    }
    double d = 0;
    if (e.is_double() && e.get_double().get(d) == simdjson::SUCCESS) return positive_u64_from_integral_double(d);
    return std::nullopt;
}

// The back-end always writes the "0x"; text without it is not the back-end's miner.
bool has_hex_prefix(std::string_view s) { return s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'); }

// True when text is an address exactly as inet_ntop writes it: one key per address, so
// "1.2.3.4" and "::ffff:1.2.3.4", or "2001:DB8::1" and "2001:db8::1", cannot be two bans.
bool is_canonical_address(std::string_view text) {
    char copy[INET6_ADDRSTRLEN + 1] = {};
    if (text.empty() || text.size() > INET6_ADDRSTRLEN) return false;
    std::memcpy(copy, text.data(), text.size());
    unsigned char bytes[16] = {};
    char again[INET6_ADDRSTRLEN] = {};
    if (::inet_pton(AF_INET, copy, bytes) == 1) {
        return ::inet_ntop(AF_INET, bytes, again, sizeof again) != nullptr && text == again;
    }
    if (::inet_pton(AF_INET6, copy, bytes) != 1) return false;
    static constexpr unsigned char kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(bytes, kV4Mapped, sizeof kV4Mapped) == 0) return false;  // written as the dotted quad
    return ::inet_ntop(AF_INET6, bytes, again, sizeof again) != nullptr && text == again;
}

// text as a JSON string, quotes included.
void append_json_string(std::string& out, std::string_view text) {
    // simdjson refuses invalid UTF-8, so such text is made ASCII before it is written.
    const bool valid = simdjson::validate_utf8(text.data(), text.size());
    out += '"';
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20) {
            static constexpr char kHex[] = "0123456789abcdef";
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        } else if (c >= 0x80 && !valid) {
            out += '?';
        } else {
            out += ch;
        }
    }
    out += '"';
}

}  // namespace

std::optional<Bytes32> parse_challenge(std::string_view text) {
    const auto parsed = parse_hex32(unquote(text));
    if (!parsed) return std::nullopt;
    return *parsed;
}

std::optional<std::uint64_t> parse_block(std::string_view text) { return parse_decimal_u64(unquote(text)); }

std::optional<U256> parse_decimal_target(std::string_view text) { return U256::from_decimal(unquote(text)); }

PoolSnapshot parse_snapshot(std::optional<std::string_view> challenge, std::optional<std::string_view> block,
                            std::optional<std::string_view> mining_target) {
    PoolSnapshot snapshot;
    if (challenge) snapshot.challenge = parse_challenge(*challenge);
    if (block) snapshot.eth_block = parse_block(*block);
    if (mining_target) snapshot.mining_target = parse_decimal_target(*mining_target);
    return snapshot;
}

std::optional<std::uint64_t> parse_miner_var_diff(std::string_view json) {
    simdjson::padded_string padded(json);
    simdjson::dom::element doc;
    if (thread_parser().parse(padded).get(doc) != simdjson::SUCCESS) return std::nullopt;
    simdjson::dom::element field;
    if (doc.at_key("varDiff").get(field) != simdjson::SUCCESS) return std::nullopt;
    return positive_integer(field);
}

std::optional<VarDiffUpdate> parse_var_diff_message(std::string_view json) {
    simdjson::padded_string padded(json);
    simdjson::dom::element doc;
    if (thread_parser().parse(padded).get(doc) != simdjson::SUCCESS) return std::nullopt;
    std::string_view miner_text;
    if (doc.at_key("miner").get_string().get(miner_text) != simdjson::SUCCESS || !has_hex_prefix(miner_text)) {
        return std::nullopt;
    }
    const auto miner = Address::parse_any_case(miner_text);
    if (!miner) return std::nullopt;
    simdjson::dom::element vd;
    if (doc.at_key("varDiff").get(vd) != simdjson::SUCCESS) return std::nullopt;
    const auto var_diff = positive_integer(vd);
    if (!var_diff) return std::nullopt;

    VarDiffUpdate update;
    update.miner = miner->normalized();
    update.var_diff = *var_diff;
    simdjson::dom::element target;
    if (doc.at_key("target").get(target) == simdjson::SUCCESS) {
        std::string_view digits;
        std::uint64_t small = 0;
        if (target.get_string().get(digits) == simdjson::SUCCESS) {
            update.target = U256::from_decimal(digits);
        } else if (target.get_uint64().get(small) == simdjson::SUCCESS) {
            update.target = U256::from_u64(small);
        }
    }
    return update;
}

std::string ban_json(const BanRecord& ban) {
    std::string out = R"({"address":)";
    append_json_string(out, ban.address);
    out += R"(,"until":)";
    out += std::to_string(ban.until_unix_ms);
    out += R"(,"offence":)";
    out += std::to_string(ban.offence);
    out += R"(,"reason":)";
    append_json_string(out, ban.reason);
    out += R"(,"by":)";
    append_json_string(out, ban.by);
    out += '}';
    return out;
}

std::optional<BanRecord> parse_ban(std::string_view json) {
    simdjson::padded_string padded(json);
    simdjson::dom::element doc;
    simdjson::dom::object object;
    if (thread_parser().parse(padded).get(doc) != simdjson::SUCCESS ||
        doc.get_object().get(object) != simdjson::SUCCESS)
        return std::nullopt;
    std::string_view address, reason, by;
    std::int64_t until = 0;
    std::uint64_t offence = 0;
    // get_int64 and get_uint64 refuse doubles (1.0, 1e3): the writer is sharegate itself.
    if (object["address"].get_string().get(address) != simdjson::SUCCESS ||
        object["until"].get_int64().get(until) != simdjson::SUCCESS ||
        object["offence"].get_uint64().get(offence) != simdjson::SUCCESS ||
        object["reason"].get_string().get(reason) != simdjson::SUCCESS ||
        object["by"].get_string().get(by) != simdjson::SUCCESS) {
        return std::nullopt;
    }
    if (until < 0 || offence > std::numeric_limits<unsigned>::max() || (until == 0) != (offence == 0) ||
        !is_canonical_address(address)) {
        return std::nullopt;
    }
    BanRecord ban;
    ban.address = std::string(address);
    ban.until_unix_ms = until;
    ban.offence = static_cast<unsigned>(offence);
    ban.reason = std::string(reason);
    ban.by = std::string(by);
    return ban;
}

std::string ban_key(std::string_view address) {
    std::string key(kBanKeyPrefix);
    key += address;
    return key;
}

// Each Message is built in place inside the optional: moving a temporary variant in
// makes GCC 12 warn (-Wmaybe-uninitialized, a false positive) under -O1 with ASan.
std::optional<Message> parse_message(std::string_view channel, std::string_view payload) {
    if (channel == kChallengeChannel) {
        if (auto challenge = parse_challenge(payload))
            return std::optional<Message>(std::in_place, std::in_place_type<Bytes32>, *challenge);
    } else if (channel == kBlockChannel) {
        if (auto block = parse_block(payload))
            return std::optional<Message>(std::in_place, std::in_place_type<std::uint64_t>, *block);
    } else if (channel == kVarDiffChannel) {
        if (auto update = parse_var_diff_message(payload))
            return std::optional<Message>(std::in_place, std::in_place_type<VarDiffUpdate>, std::move(*update));
    } else if (channel == kBanChannel) {
        if (auto ban = parse_ban(payload))
            return std::optional<Message>(std::in_place, std::in_place_type<BanRecord>, std::move(*ban));
    }
    return std::nullopt;
}

}  // namespace sharegate::redis
