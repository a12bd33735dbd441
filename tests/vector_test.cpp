// Known answers from tests/vectors: computed outside this project, so they check the
// reference Keccak, the address rules and every backend against an independent source.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backend_cases.hpp"
#include "sharegate/verifier.hpp"
#include "test_util.hpp"

namespace sharegate_test {
namespace {

using sharegate::make_verifier;
using sharegate::parse_hex32;
using sharegate::share_target;

std::string vector_path(const char* name) { return std::string(SHAREGATE_TEST_VECTORS_DIR) + "/" + name; }

std::vector<std::uint8_t> hex_bytes(std::string_view text) {
    EXPECT_EQ(text.substr(0, 2), "0x") << text;
    text.remove_prefix(2);
    std::vector<std::uint8_t> out(text.size() / 2);
    EXPECT_EQ(text.size() % 2, 0u) << text;
    EXPECT_TRUE(sharegate::parse_hex_digits(text, out.data(), out.size())) << text;
    return out;
}

Bytes32 hex32(std::string_view text) {
    const auto parsed = parse_hex32(text);
    EXPECT_TRUE(parsed) << text;
    return parsed ? *parsed : Bytes32{};
}

struct RealShare {
    Bytes32 challenge;
    Bytes20 pool;
    Bytes32 nonce;
    Bytes32 digest;
};

RealShare read_share(simdjson::dom::element object) {
    const auto pool = Address::parse(std::string_view(object["pool"]));
    EXPECT_TRUE(pool);
    return RealShare{hex32(object["challenge"]), pool ? pool->bytes() : Bytes20{}, hex32(object["nonce"]),
                     hex32(object["digest"])};
}

std::vector<RealShare> valid_d1_shares() {
    simdjson::dom::parser parser;
    std::vector<RealShare> shares;
    for (simdjson::dom::element line : parser.load_many(vector_path("valid_d1.jsonl")))
        shares.push_back(read_share(line));
    return shares;
}

TEST(KeccakVectorsTest, EveryVector) {
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.load(vector_path("keccak256.json"));
    std::size_t count = 0;
    std::vector<std::size_t> lengths;
    for (simdjson::dom::element vector : doc["vectors"]) {
        const auto message = hex_bytes(std::string_view(vector["msg"]));
        const std::string_view expected = vector["keccak256"];
        EXPECT_EQ(sharegate::to_hex(sharegate::keccak256(std::span<const std::uint8_t>(message))), expected)
            << message.size() << "-byte message";
        lengths.push_back(message.size());
        ++count;
    }
    EXPECT_GE(count, 10u);
    // The lengths that exercise padding: empty, the 84-byte share, and around the 136-byte rate.
    for (std::size_t length : {0, 84, 135, 136, 137, 272}) {
        EXPECT_NE(std::find(lengths.begin(), lengths.end(), length), lengths.end()) << length;
    }
}

TEST(KeccakVectorsTest, StringViewOverloadMatchesBytes) {
    EXPECT_EQ(sharegate::to_hex(sharegate::keccak256(std::string_view("abc"))),
              "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

TEST(SeedShareTest, DigestAndTarget) {
    simdjson::dom::parser parser;
    const simdjson::dom::element seed = parser.load(vector_path("seed_share.json"));
    const RealShare share = read_share(seed);
    EXPECT_EQ(sharegate::share_digest(share.challenge, share.pool, share.nonce), share.digest);

    const std::uint64_t difficulty = seed["difficulty"];
    const std::uint64_t bits = seed["max_target_bits"];
    const std::string_view target_text = seed["target"];
    const U256 target = share_target(static_cast<unsigned>(bits), difficulty);
    EXPECT_EQ(target.to_decimal(), target_text);
    EXPECT_EQ(U256::from_decimal(target_text), target);
    const bool valid = seed["valid"];
    EXPECT_EQ(U256::from_be_bytes(share.digest) < target, valid);
}

TEST(ValidD1Test, DigestsMatchAndMeetDifficultyOne) {
    const auto shares = valid_d1_shares();
    ASSERT_EQ(shares.size(), 200u);
    const U256 target = share_target(234, 1);
    for (std::size_t i = 0; i < shares.size(); ++i) {
        const auto& share = shares[i];
        EXPECT_EQ(sharegate::share_digest(share.challenge, share.pool, share.nonce), share.digest) << "line " << i + 1;
        EXPECT_LT(U256::from_be_bytes(share.digest), target) << "line " << i + 1;
    }
}

TEST(AddressVectorsTest, ValidAndInvalid) {
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.load(vector_path("addresses.json"));
    std::size_t valid = 0;
    for (simdjson::dom::element text : doc["valid"]) {
        const std::string_view address = text;
        const auto parsed = Address::parse(address);
        EXPECT_TRUE(parsed) << address << ": " << sharegate::to_string(parsed.error());
        ++valid;
    }
    std::size_t invalid = 0;
    for (simdjson::dom::element text : doc["invalid"]) {
        const std::string_view address = text;
        EXPECT_FALSE(Address::parse(address)) << address;
        ++invalid;
    }
    EXPECT_GE(valid, 5u);
    EXPECT_GE(invalid, 5u);
}

TEST(AddressVectorsTest, NormalizedAndChecksummedForms) {
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.load(vector_path("addresses.json"));
    std::size_t count = 0;
    for (auto [key, value] : simdjson::dom::object(doc["normalized"])) {
        const auto parsed = Address::parse(key);
        ASSERT_TRUE(parsed) << key;
        EXPECT_EQ(parsed->normalized(), std::string_view(value)) << key;
        ++count;
    }
    for (auto [key, value] : simdjson::dom::object(doc["checksummed"])) {
        const auto parsed = Address::parse(key);
        ASSERT_TRUE(parsed) << key;
        EXPECT_EQ(parsed->checksummed(), std::string_view(value)) << key;
        // The checksummed form is itself a valid address for the same account.
        const auto again = Address::parse(std::string_view(value));
        ASSERT_TRUE(again) << value;
        EXPECT_EQ(*again, *parsed);
        ++count;
    }
    EXPECT_GE(count, 10u);
}

// Every backend on the real mined shares: all accepted at difficulty 1, the same shares
// refused at difficulty 2^64-1, and refused as invalid under another pool address.
class RealSharesBackendTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RealSharesBackendTest, AgreesWithTheReference) {
    const std::string& name = GetParam();
    auto made = make_verifier(name, sharegate::VerifierOptions{.threads = 3, .min_shares_per_thread = 1});
    if (!made) {
        const bool required = must_be_available(name);
        // A backend that is there but refused (a failed self-test, a kernel that does not
        // build) fails; only one whose hardware or runtime is absent is skipped.
        if (required || made.refusal != sharegate::Refusal::unavailable) FAIL() << made.error;
        GTEST_SKIP() << made.error;
    }
    const auto shares = valid_d1_shares();
    ASSERT_EQ(shares.size(), 200u);
    Bytes20 other_pool = shares[0].pool;
    other_pool[19] ^= 1;
    struct Case {
        const char* what;
        U256 target;
        Bytes20 pool;
    };
    for (const Case& c : {Case{"difficulty 1", share_target(234, 1), shares[0].pool},
                          Case{"difficulty 2^64-1", share_target(234, ~std::uint64_t{0}), shares[0].pool},
                          Case{"another pool", share_target(234, 1), other_pool}}) {
        ReferenceBatch reference{ShareBatch(shares[0].challenge, Address(c.pool)), {}};
        for (const auto& share : shares) {
            ASSERT_EQ(share.challenge, shares[0].challenge);
            const U256 claimed = U256::from_be_bytes(share.digest);
            reference.batch.add(share.nonce, claimed, c.target);
            reference.expected.push_back(
                reference_verdict(true_digest(share.challenge, c.pool, share.nonce), claimed, c.target));
        }
        if (c.pool == shares[0].pool && c.target == share_target(234, 1)) {
            for (Verdict v : reference.expected) ASSERT_EQ(v, Verdict::accepted);
        }
        std::vector<Verdict> got(reference.batch.size(), kNoVerdict);
        made.verifier->verify(reference.batch, got);
        EXPECT_EQ(describe_mismatches(reference.batch, reference.expected, got), "") << c.what;
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, RealSharesBackendTest, ::testing::ValuesIn(every_verifier_name()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return test_name_of(info.param); });

}  // namespace
}  // namespace sharegate_test
