// The ban rules alone, on a clock the test sets: the sliding window and its thresholds,
// what never counts, escalation, bans from elsewhere, and the bounds.
#include "server/ban_book.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sharegate::server {
namespace {

using namespace std::chrono_literals;
using Clock = BanBook::Clock;

IpAddress ip(const std::string& text) { return *IpAddress::parse(text); }

BanRules rules() {
    BanRules r;
    r.window = 60s;
    r.min_shares = 50;
    r.invalid_percent = 50;
    r.junk_lines = 5;
    r.ban_times = {600s, 3600s, 86400s};
    r.grace = 5s;
    r.offence_memory = 24h;
    r.max_addresses = 1000;
    return r;
}

// A time well away from any window step's edge.
const Clock::time_point kStart = Clock::time_point(std::chrono::hours(24 * 365 * 50));

std::optional<Ban> repeat(BanBook& book, const IpAddress& address, Conduct conduct, int times, Clock::time_point at) {
    std::optional<Ban> ban;
    for (int i = 0; i < times; ++i) {
        auto made = book.record(address, conduct, at);
        if (made) {
            EXPECT_FALSE(ban) << "a second ban from the same run";
            ban = made;
        }
    }
    return ban;
}

TEST(BanBook, AllInvalidBansAtTheMinimumShares) {
    BanBook book(rules());
    const IpAddress flooder = ip("127.0.0.2");
    EXPECT_FALSE(repeat(book, flooder, Conduct::invalid, 49, kStart));
    EXPECT_FALSE(book.banned(flooder, kStart));
    auto ban = book.record(flooder, Conduct::invalid, kStart);
    ASSERT_TRUE(ban);
    EXPECT_EQ(ban->address, flooder);
    EXPECT_EQ(ban->offence, 1u);
    EXPECT_EQ(ban->until, kStart + 600s);
    EXPECT_NE(ban->reason.find("50 of 50"), std::string::npos) << ban->reason;
    EXPECT_TRUE(book.banned(flooder, kStart + 599s));
    EXPECT_FALSE(book.banned(flooder, kStart + 600s));
    EXPECT_FALSE(book.banned(ip("127.0.0.3"), kStart));
    // While banned nothing more is counted and no second ban is made.
    EXPECT_FALSE(repeat(book, flooder, Conduct::invalid, 100, kStart + 1s));
}

TEST(BanBook, MostlyValidIsNeverBanned) {
    BanBook book(rules());
    const IpAddress miner = ip("127.0.0.2");
    for (int i = 0; i < 1000; ++i) {
        EXPECT_FALSE(book.record(miner, Conduct::valid, kStart + std::chrono::milliseconds(i * 10)));
        if (i % 2 == 0) {
            EXPECT_FALSE(book.record(miner, Conduct::invalid, kStart + std::chrono::milliseconds(i * 10)));
        }
    }
    // Just under half invalid within the window (49 of 99 in a fresh window): still not.
    const auto later = kStart + 1h;
    EXPECT_FALSE(repeat(book, miner, Conduct::valid, 50, later));
    EXPECT_FALSE(repeat(book, miner, Conduct::invalid, 49, later));
    // One more invalid makes it half (50 of 100): banned.
    EXPECT_TRUE(book.record(miner, Conduct::invalid, later));
}

TEST(BanBook, OldConductLeavesTheWindow) {
    BanBook book(rules());
    const IpAddress address = ip("10.0.0.1");
    EXPECT_FALSE(repeat(book, address, Conduct::invalid, 40, kStart));
    // Past the window those 40 no longer count: 40 more do not reach 50.
    EXPECT_FALSE(repeat(book, address, Conduct::invalid, 40, kStart + 61s));
    EXPECT_FALSE(book.banned(address, kStart + 61s));
    // Within it they add up.
    EXPECT_TRUE(repeat(book, address, Conduct::invalid, 10, kStart + 70s));
}

TEST(BanBook, RateLimitedCountsAsInvalid) {
    BanBook book(rules());
    const IpAddress address = ip("10.0.0.1");
    EXPECT_FALSE(repeat(book, address, Conduct::valid, 25, kStart));
    auto ban = repeat(book, address, Conduct::rate_limited, 25, kStart);
    ASSERT_TRUE(ban);
    EXPECT_NE(ban->reason.find("rate limit"), std::string::npos) << ban->reason;
}

TEST(BanBook, JunkLinesBan) {
    BanBook book(rules());
    const IpAddress address = ip("10.0.0.1");
    EXPECT_FALSE(repeat(book, address, Conduct::junk, 4, kStart));
    auto ban = book.record(address, Conduct::junk, kStart + 1s);
    ASSERT_TRUE(ban);
    EXPECT_NE(ban->reason.find("not JSON"), std::string::npos) << ban->reason;
}

TEST(BanBook, InvalidSharesJustAfterAChallengeChangeDoNotCount) {
    BanBook book(rules());
    const IpAddress address = ip("10.0.0.1");
    book.challenge_changed(kStart);
    EXPECT_FALSE(repeat(book, address, Conduct::invalid, 500, kStart + 4s));
    EXPECT_FALSE(book.banned(address, kStart + 4s));
    // After the grace they do.
    EXPECT_TRUE(repeat(book, address, Conduct::invalid, 50, kStart + 5s));
}

TEST(BanBook, RepeatOffencesGetLongerBans) {
    BanBook book(rules());
    const IpAddress address = ip("10.0.0.1");
    auto first = repeat(book, address, Conduct::invalid, 50, kStart);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->until - kStart, 600s);
    const auto second_at = first->until + 1s;
    auto second = repeat(book, address, Conduct::invalid, 50, second_at);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->offence, 2u);
    EXPECT_EQ(second->until - second_at, 3600s);
    const auto third_at = second->until + 1s;
    auto third = repeat(book, address, Conduct::invalid, 50, third_at);
    ASSERT_TRUE(third);
    EXPECT_EQ(third->until - third_at, 86400s);
    const auto fourth_at = third->until + 1s;
    auto fourth = repeat(book, address, Conduct::invalid, 50, fourth_at);
    ASSERT_TRUE(fourth);
    EXPECT_EQ(fourth->offence, 4u);
    EXPECT_EQ(fourth->until - fourth_at, 86400s) << "the last length repeats";
    // Forgotten after the memory: a first offence again.
    const auto much_later = fourth->until + 24h + 1s;
    auto fresh = repeat(book, address, Conduct::invalid, 50, much_later);
    ASSERT_TRUE(fresh);
    EXPECT_EQ(fresh->offence, 1u);
    EXPECT_EQ(fresh->until - much_later, 600s);
}

TEST(BanBook, AllowListedAddressesAreNeitherRecordedNorBanned) {
    BanRules r = rules();
    r.allow.push_back(*Cidr::parse("10.1.0.0/16"));
    BanBook book(r);
    const IpAddress proxy = ip("10.1.2.3");
    EXPECT_TRUE(book.allowed(proxy));
    EXPECT_FALSE(repeat(book, proxy, Conduct::invalid, 1000, kStart));
    EXPECT_FALSE(repeat(book, proxy, Conduct::junk, 100, kStart));
    EXPECT_EQ(book.records_held(), 0u);
    EXPECT_FALSE(book.apply(Ban{proxy, kStart + 600s, 1, "elsewhere", {}}, kStart));
    EXPECT_FALSE(book.banned(proxy, kStart));
}

TEST(BanBook, NoBanTimesMeansNoBans) {
    BanRules r = rules();
    r.ban_times.clear();
    BanBook book(r);
    EXPECT_FALSE(repeat(book, ip("10.0.0.1"), Conduct::invalid, 1000, kStart));
}

TEST(BanBook, BansFromElsewhereAndLifts) {
    BanBook book(rules());
    const IpAddress address = ip("2001:db8::7");
    EXPECT_TRUE(book.apply(Ban{address, kStart + 600s, 1, "from another instance", {}}, kStart));
    auto ban = book.banned(address, kStart + 1s);
    ASSERT_TRUE(ban);
    EXPECT_EQ(ban->reason, "from another instance");
    // The same ban again (our own, echoed by Redis) changes nothing.
    EXPECT_FALSE(book.apply(Ban{address, kStart + 600s, 1, "again", {}}, kStart + 1s));
    // A later end extends it.
    EXPECT_TRUE(book.apply(Ban{address, kStart + 3600s, 2, "longer", {}}, kStart + 2s));
    EXPECT_TRUE(book.banned(address, kStart + 3000s));
    // A lift (an end in the past) ends it and forgets the offences.
    EXPECT_TRUE(book.apply(Ban{address, Clock::time_point{}, 0, "lifted", {}}, kStart + 3s));
    EXPECT_FALSE(book.banned(address, kStart + 3s));
    EXPECT_FALSE(book.apply(Ban{address, Clock::time_point{}, 0, "lifted", {}}, kStart + 4s));
    auto next = repeat(book, address, Conduct::invalid, 50, kStart + 5s);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->offence, 1u);
}

TEST(BanBook, EscalationCountsOffencesLearntFromElsewhere) {
    BanBook book(rules());
    const IpAddress address = ip("10.0.0.9");
    EXPECT_TRUE(book.apply(Ban{address, kStart + 600s, 2, "another instance's second", {}}, kStart));
    auto ban = repeat(book, address, Conduct::invalid, 50, kStart + 601s);
    ASSERT_TRUE(ban);
    EXPECT_EQ(ban->offence, 3u);
    EXPECT_EQ(ban->until - (kStart + 601s), 86400s);
}

TEST(BanBook, RecordsAndBansStayBounded) {
    BanRules r = rules();
    r.max_addresses = 100;
    BanBook book(r);
    for (std::uint32_t i = 0; i < 10000; ++i) {
        book.record(IpAddress::v4(0x0a000000 + i), Conduct::invalid, kStart);
        EXPECT_LE(book.records_held(), 100u);
    }
    for (std::uint32_t i = 0; i < 1000; ++i) {
        EXPECT_TRUE(repeat(book, IpAddress::v4(0x0b000000 + i), Conduct::junk, 5, kStart + std::chrono::seconds(i)));
        EXPECT_LE(book.bans_held(), 100u);
    }
    // The newest bans are the ones kept (the soonest to end went first).
    EXPECT_TRUE(book.banned(IpAddress::v4(0x0b000000 + 999), kStart + 1000s));
    EXPECT_FALSE(book.banned(IpAddress::v4(0x0b000000 + 0), kStart + 1000s));
}

TEST(BanBook, DurationsReadAsPeopleSayThem) {
    EXPECT_EQ(describe_duration(600s), "10 min");
    EXPECT_EQ(describe_duration(3600s), "1 h");
    EXPECT_EQ(describe_duration(86400s), "24 h");
    EXPECT_EQ(describe_duration(90s), "90 s");
    EXPECT_EQ(describe_duration(0s), "0 s");
}

}  // namespace
}  // namespace sharegate::server
