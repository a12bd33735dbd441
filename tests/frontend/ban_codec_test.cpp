// The pool-wide ban record (docs/protocol.md section 4, "Bans") without a server: what
// ban_json writes, that parse_ban reads it back, and every shape parse_ban refuses.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "redis/value_codec.hpp"

namespace sharegate::redis {
namespace {

BanRecord sample() {
    BanRecord ban;
    ban.address = "1.2.3.4";
    ban.until_unix_ms = 1700000000123;
    ban.offence = 2;
    ban.reason = "invalid shares";
    ban.by = "gate-a";
    return ban;
}

// A record's JSON with one member's text replaced (or removed, with an empty value).
std::string with_member(const std::string& name, const std::string& value) {
    const std::string members[][2] = {{"address", "\"1.2.3.4\""},
                                      {"until", "1700000000123"},
                                      {"offence", "2"},
                                      {"reason", "\"invalid shares\""},
                                      {"by", "\"gate-a\""}};
    std::string json = "{";
    for (const auto& member : members) {
        const std::string& text = member[0] == name ? value : member[1];
        if (text.empty()) continue;
        if (json.size() > 1) json += ',';
        json += "\"" + member[0] + "\":" + text;
    }
    return json + "}";
}

TEST(BanCodec, WritesTheDocumentedObject) {
    EXPECT_EQ(ban_json(sample()),
              R"({"address":"1.2.3.4","until":1700000000123,"offence":2,"reason":"invalid shares","by":"gate-a"})");
    EXPECT_EQ(with_member("", ""), ban_json(sample()));  // the helper below writes the same
}

TEST(BanCodec, RoundTrips) {
    BanRecord v6 = sample();
    v6.address = "2001:db8::1";
    v6.offence = std::numeric_limits<unsigned>::max();
    v6.until_unix_ms = std::numeric_limits<std::int64_t>::max();
    BanRecord lift;
    lift.address = "::1";
    lift.reason = "lifted";
    lift.by = "sharegate-ctl@host";
    BanRecord awkward = sample();
    awkward.reason = "quote \" backslash \\ newline \n tab \t bell \x07 del \x7f caf\xc3\xa9 \xe2\x82\xac";
    awkward.by = "";
    for (const BanRecord& ban : {sample(), v6, lift, awkward}) {
        const auto back = parse_ban(ban_json(ban));
        ASSERT_TRUE(back) << ban_json(ban);
        EXPECT_EQ(*back, ban) << ban_json(ban);
    }
    EXPECT_TRUE(parse_ban(ban_json(lift))->is_lift());
    EXPECT_FALSE(parse_ban(ban_json(sample()))->is_lift());
}

TEST(BanCodec, TextThatIsNotUtf8IsWrittenAsAscii) {
    BanRecord ban = sample();
    ban.reason = "bad \xff\xfe byte, caf\xc3\xa9";
    const auto back = parse_ban(ban_json(ban));
    ASSERT_TRUE(back) << ban_json(ban);
    EXPECT_EQ(back->reason, "bad ?? byte, caf??");
}

TEST(BanCodec, OtherMembersAndWhitespaceAreAllowed) {
    const auto ban = parse_ban(
        " {\"by\":\"gate-a\", \"reason\":\"invalid shares\",\"offence\":2,\"until\":1700000000123,"
        "\"address\":\"1.2.3.4\",\"later\":[1,{\"x\":null}]}\n");
    ASSERT_TRUE(ban);
    EXPECT_EQ(*ban, sample());
}

TEST(BanCodec, RefusesWhatIsNotARecordObject) {
    // Built with append: GCC 12's -Wrestrict misfires on `"[" + std::string&&` at -O2.
    std::string in_array = "[";
    in_array += ban_json(sample());
    in_array += "]";
    std::string trailing = ban_json(sample());
    trailing += "}";
    for (const std::string& json : std::vector<std::string>{"", "null", "1", "\"1.2.3.4\"", "[]", in_array, "{}",
                                                            "not json", ban_json(sample()).substr(0, 40), trailing}) {
        EXPECT_FALSE(parse_ban(json)) << json;
    }
}

TEST(BanCodec, RefusesAMissingMember) {
    for (const char* name : {"address", "until", "offence", "reason", "by"}) {
        EXPECT_FALSE(parse_ban(with_member(name, ""))) << name;
    }
}

TEST(BanCodec, RefusesAWrongType) {
    const std::pair<const char*, const char*> wrong[] = {
        {"address", "1234"},
        {"address", "null"},
        {"address", "[\"1.2.3.4\"]"},
        {"until", "\"1700000000123\""},
        {"until", "1700000000123.0"},
        {"until", "1.7e12"},
        {"until", "true"},
        {"offence", "\"2\""},
        {"offence", "2.0"},
        {"offence", "null"},
        {"reason", "7"},
        {"reason", "null"},
        {"reason", "{}"},
        {"by", "false"},
        {"by", "[]"},
    };
    for (const auto& [name, value] : wrong) {
        EXPECT_FALSE(parse_ban(with_member(name, value))) << name << "=" << value;
    }
}

TEST(BanCodec, RefusesNumbersOutOfRange) {
    for (const char* until : {"-1", "-1700000000123", "9223372036854775808", "18446744073709551615"}) {
        EXPECT_FALSE(parse_ban(with_member("until", until))) << until;
    }
    for (const char* offence : {"-1", "4294967296", "18446744073709551615"}) {
        EXPECT_FALSE(parse_ban(with_member("offence", offence))) << offence;
    }
    EXPECT_TRUE(parse_ban(with_member("offence", "4294967295")));
    EXPECT_TRUE(parse_ban(with_member("until", "9223372036854775807")));
}

TEST(BanCodec, UntilZeroIsALiftAndOnlyALift) {
    BanRecord lift;
    lift.address = "1.2.3.4";
    EXPECT_TRUE(parse_ban(ban_json(lift)));
    // A ban needs an offence; a lift has none.
    EXPECT_FALSE(parse_ban(with_member("offence", "0")));
    std::string lift_with_offence = with_member("until", "0");
    EXPECT_FALSE(parse_ban(lift_with_offence)) << lift_with_offence;
}

TEST(BanCodec, AddressMustBeCanonical) {
    for (const char* address : {"10.0.0.1", "255.255.255.255", "0.0.0.0", "::", "::1", "2001:db8::1", "fe80::1:2",
                                "2001:db8:0:1:1:1:1:1", "::ffff:0:102:304"}) {
        BanRecord ban = sample();
        ban.address = address;
        EXPECT_TRUE(parse_ban(ban_json(ban))) << address;
    }
    for (const char* address : {"", "host", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", " 1.2.3.4", "1.2.3.4 ",
                                "1.2.3.4/32", "::ffff:1.2.3.4", "::FFFF:1.2.3.4", "2001:DB8::1", "2001:db8:0:0:0:0:0:1",
                                "2001:0db8::1", "[::1]", "fe80::1%eth0", "::1/128", "1.2.3.4:80"}) {
        BanRecord ban = sample();
        ban.address = address;
        EXPECT_FALSE(parse_ban(ban_json(ban))) << address;
    }
}

TEST(BanCodec, KeyAndChannel) {
    EXPECT_EQ(ban_key("1.2.3.4"), "sharegate:ban:1.2.3.4");
    EXPECT_EQ(ban_key("2001:db8::1"), "sharegate:ban:2001:db8::1");
    EXPECT_EQ(std::string(kBanChannel), "sharegate:bans");
}

TEST(BanCodec, TheBanChannelCarriesRecords) {
    const auto message = parse_message(kBanChannel, ban_json(sample()));
    ASSERT_TRUE(message);
    ASSERT_TRUE(std::holds_alternative<BanRecord>(*message));
    EXPECT_EQ(std::get<BanRecord>(*message), sample());
    EXPECT_FALSE(parse_message(kBanChannel, "1.2.3.4"));
    EXPECT_FALSE(parse_message(kBanChannel, with_member("by", "")));
    // Another channel's rule never reads a ban, nor the ban channel another's payload.
    for (const char* channel : kChannels) EXPECT_FALSE(parse_message(channel, ban_json(sample()))) << channel;
    EXPECT_FALSE(parse_message("sharegate:ban", ban_json(sample())));
    EXPECT_FALSE(parse_message(kBanChannel, "5600001"));
}

}  // namespace
}  // namespace sharegate::redis
