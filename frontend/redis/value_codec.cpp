#include "redis/value_codec.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>

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

// A positive integer; JSON writers sometimes produce integral doubles (4000.0, 4e3).
std::optional<std::uint64_t> positive_integer(simdjson::dom::element e) {
    std::uint64_t u = 0;
    if (e.get_uint64().get(u) == simdjson::SUCCESS) {
        if (u == 0) return std::nullopt;
        return u;
    }
    double d = 0;
    if (e.is_double() && e.get_double().get(d) == simdjson::SUCCESS) {
        // 2^64 is exactly representable; anything at or above it does not fit.
        if (!(d >= 1.0) || d >= 18446744073709551616.0 || std::floor(d) != d) return std::nullopt;
        return static_cast<std::uint64_t>(d);
    }
    return std::nullopt;
}

bool is_address(std::string_view s) {
    if (s.size() != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
    return std::all_of(s.begin() + 2, s.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    });
}

}  // namespace

std::optional<std::uint64_t> parse_u64(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

std::optional<Bytes32> parse_challenge(std::string_view text) {
    const auto parsed = parse_hex32(unquote(text));
    if (!parsed) return std::nullopt;
    return *parsed;
}

std::optional<std::uint64_t> parse_block(std::string_view text) { return parse_u64(unquote(text)); }

std::optional<U256> parse_decimal_target(std::string_view text) { return U256::from_decimal(unquote(text)); }

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
    std::string_view miner;
    if (doc.at_key("miner").get_string().get(miner) != simdjson::SUCCESS || !is_address(miner)) return std::nullopt;
    simdjson::dom::element vd;
    if (doc.at_key("varDiff").get(vd) != simdjson::SUCCESS) return std::nullopt;
    const auto var_diff = positive_integer(vd);
    if (!var_diff) return std::nullopt;

    VarDiffUpdate update;
    update.miner = "0x";
    for (char c : miner.substr(2)) update.miner.push_back(static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c));
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

}  // namespace sharegate::redis
