// Fuzz target (b): the Redis value codec (frontend/redis/value_codec.hpp), every
// function on the same input, as a key's value and as a pub/sub message. Invariants:
// whatever parses re-encodes in the form the back-end writes and parses back to the
// same value; the functions that read the same text agree with each other; and a
// challenge or number accepted is visibly in the text (modulo case and leading zeros;
// not so for JSON members, whose strings may be written with escapes).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_check.hpp"
#include "redis/value_codec.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/decimal.hpp"
#include "sharegate/u256.hpp"

namespace {

using namespace sharegate;
using namespace sharegate::redis;

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    return out;
}

std::string without_leading_zeros(std::string_view digits) {
    const std::size_t first = digits.find_first_not_of('0');
    return first == std::string_view::npos ? std::string("0") : std::string(digits.substr(first));
}

bool all_digits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void challenge(std::string_view text) {
    const auto parsed = parse_challenge(text);
    if (const auto strict = parse_hex32(text)) SHAREGATE_FUZZ_CHECK(parsed == *strict);
    if (!parsed) return;
    const std::string hex = to_hex(*parsed);
    SHAREGATE_FUZZ_CHECK(parse_challenge(hex) == parsed);                // the message form
    SHAREGATE_FUZZ_CHECK(parse_challenge("\"" + hex + "\"") == parsed);  // the key's JSON form
    SHAREGATE_FUZZ_CHECK(lower(text).find(hex.substr(2)) != std::string::npos);
}

void block(std::string_view text) {
    const auto parsed = parse_block(text);
    const auto strict = parse_decimal_u64(text);
    if (strict) {
        SHAREGATE_FUZZ_CHECK(parsed == strict);
        SHAREGATE_FUZZ_CHECK(all_digits(text) && std::to_string(*strict) == without_leading_zeros(text));
    }
    if (!parsed) return;
    const std::string decimal = std::to_string(*parsed);
    SHAREGATE_FUZZ_CHECK(parse_decimal_u64(decimal) == parsed);
    SHAREGATE_FUZZ_CHECK(parse_block(decimal) == parsed);
    SHAREGATE_FUZZ_CHECK(parse_block("\"" + decimal + "\"") == parsed);
    SHAREGATE_FUZZ_CHECK(text.find(decimal) != std::string_view::npos);
    // A block number is a target too, of the same value.
    SHAREGATE_FUZZ_CHECK(parse_decimal_target(text) == U256::from_u64(*parsed));
}

void target(std::string_view text) {
    const auto parsed = parse_decimal_target(text);
    if (const auto strict = U256::from_decimal(text)) SHAREGATE_FUZZ_CHECK(parsed == strict);
    if (!parsed) return;
    const std::string decimal = parsed->to_decimal();
    SHAREGATE_FUZZ_CHECK(parse_decimal_target("\"" + decimal + "\"") == parsed);
    SHAREGATE_FUZZ_CHECK(U256::from_decimal(decimal) == parsed);
    SHAREGATE_FUZZ_CHECK(text.find(decimal) != std::string_view::npos);
    // Fits in 64 bits exactly when the block parser takes it.
    const bool small = parsed->limbs[1] == 0 && parsed->limbs[2] == 0 && parsed->limbs[3] == 0;
    SHAREGATE_FUZZ_CHECK(parse_block(text).has_value() == small);
}

void miner_data(std::string_view text) {
    const auto var_diff = parse_miner_var_diff(text);
    if (!var_diff) return;
    SHAREGATE_FUZZ_CHECK(*var_diff >= 1);
    const std::string written = R"({"shareCredits":0,"tokenBalance":0,"tokensAwarded":0,"varDiff":)" +
                                std::to_string(*var_diff) + R"(,"validSubmittedSolutionsCount":0})";
    SHAREGATE_FUZZ_CHECK(parse_miner_var_diff(written) == var_diff);
}

void var_diff_message(std::string_view text) {
    const auto update = parse_var_diff_message(text);
    if (!update) return;
    SHAREGATE_FUZZ_CHECK(update->var_diff >= 1);
    SHAREGATE_FUZZ_CHECK(update->miner.size() == 42 && update->miner.rfind("0x", 0) == 0);
    SHAREGATE_FUZZ_CHECK(lower(update->miner) == update->miner);
    // The message's varDiff is read as miner_data's is.
    SHAREGATE_FUZZ_CHECK(parse_miner_var_diff(text) == update->var_diff);

    std::string written = R"({"miner":")" + update->miner + R"(","varDiff":)" + std::to_string(update->var_diff);
    if (update->target) written += R"(,"target":")" + update->target->to_decimal() + "\"";
    written += "}";
    const auto again = parse_var_diff_message(written);
    SHAREGATE_FUZZ_CHECK(again && again->miner == update->miner && again->var_diff == update->var_diff &&
                         again->target == update->target);
}

// A ban record (key value and channel message): what parses writes back in the one form
// and parses back to the same record; the ban channel's message is exactly that.
void ban(std::string_view text) {
    const auto parsed = parse_ban(text);
    const auto message = parse_message(kBanChannel, text);
    SHAREGATE_FUZZ_CHECK(message.has_value() == parsed.has_value());
    if (!parsed) return;
    SHAREGATE_FUZZ_CHECK(std::get<BanRecord>(*message) == *parsed);
    SHAREGATE_FUZZ_CHECK((parsed->until_unix_ms == 0) == (parsed->offence == 0));
    SHAREGATE_FUZZ_CHECK(!parsed->address.empty());
    const std::string written = ban_json(*parsed);
    SHAREGATE_FUZZ_CHECK(parse_ban(written) == parsed);
    SHAREGATE_FUZZ_CHECK(ban_json(*parse_ban(written)) == written);
}

// The subscriber parses by channel: each channel's message is exactly what that
// channel's parser makes of the payload, and the snapshot exactly what the key parsers
// make of the three values.
void by_channel(std::string_view text) {
    const auto challenge = parse_message(kChallengeChannel, text);
    const auto expected_challenge = parse_challenge(text);
    SHAREGATE_FUZZ_CHECK(challenge.has_value() == expected_challenge.has_value());
    if (challenge) SHAREGATE_FUZZ_CHECK(std::get<Bytes32>(*challenge) == *expected_challenge);

    const auto block = parse_message(kBlockChannel, text);
    const auto expected_block = parse_block(text);
    SHAREGATE_FUZZ_CHECK(block.has_value() == expected_block.has_value());
    if (block) SHAREGATE_FUZZ_CHECK(std::get<std::uint64_t>(*block) == *expected_block);

    const auto var_diff = parse_message(kVarDiffChannel, text);
    const auto expected_update = parse_var_diff_message(text);
    SHAREGATE_FUZZ_CHECK(var_diff.has_value() == expected_update.has_value());
    if (var_diff) {
        const auto& update = std::get<VarDiffUpdate>(*var_diff);
        SHAREGATE_FUZZ_CHECK(update.miner == expected_update->miner && update.var_diff == expected_update->var_diff &&
                             update.target == expected_update->target);
    }

    const PoolSnapshot snapshot = parse_snapshot(text, text, text);
    SHAREGATE_FUZZ_CHECK(snapshot.challenge == expected_challenge && snapshot.eth_block == expected_block &&
                         snapshot.mining_target == parse_decimal_target(text));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    challenge(text);
    block(text);
    target(text);
    miner_data(text);
    var_diff_message(text);
    by_channel(text);
    ban(text);
    return 0;
}
