// The connection defenses end to end (docs/operations.md): the real sharegate binary, a
// private redis-server and real loopback sockets. 127.0.0.0/8 is all loopback, so
// 127.0.0.2, 127.0.0.3, ... are distinct peers to the server. Every wait is for a
// condition with a deadline; nothing passes or fails on timing alone.
#include "defense_fixture.hpp"

namespace {

using namespace sharegate_defense_test;

// The default cap of 256 per address: the 257th connection from 127.0.0.2 is closed at
// accept; another address is untouched; an allow-listed one is not capped at all.
TEST_F(DefenseTest, PerAddressCapAtItsDefault) {
    start_server({"--allow", "127.0.0.4/32"});
    std::vector<std::unique_ptr<LineClient>> capped;
    for (int i = 0; i < 256; ++i) capped.push_back(connect("127.0.0.2"));
    subscribe_all(capped, kMiner);

    auto over = connect("127.0.0.2");
    expect_refused(*over, "connection 257 from 127.0.0.2");
    auto again = connect("127.0.0.2");
    expect_refused(*again, "connection 258 from 127.0.0.2");
    expect_served(*capped.front(), 7, "the first of the 256");
    expect_served(*capped.back(), 8, "the last of the 256");

    auto other = connect("127.0.0.3");
    expect_served(*other, 9, "127.0.0.3");

    std::vector<std::unique_ptr<LineClient>> allowed;
    for (int i = 0; i < 300; ++i) allowed.push_back(connect("127.0.0.4"));
    subscribe_all(allowed, kMiner);

    const std::string stats = stats_line_with("refused at accept: address cap 2, total cap 0");
    EXPECT_NE(stats.find("refused at accept: address cap 2, total cap 0"), std::string::npos) << stats;
    EXPECT_EQ(count_of(log(), "refusing connections from 127.0.0.2: 256 open (cap 256)"), 1u) << log();
    EXPECT_EQ(count_of(log(), "refusing connections from"), 1u) << log();
}

// --max-connections 50: the 51st is closed at accept, whichever address it comes from.
TEST_F(DefenseTest, TotalCap) {
    start_server({"--max-connections", "50", "--allow", "127.0.0.9/32"});
    std::vector<std::unique_ptr<LineClient>> clients;
    for (int i = 0; i < 50; ++i) clients.push_back(connect("127.0.0.5" + std::to_string(i % 4)));
    subscribe_all(clients, kMiner);

    auto fresh_address = connect("127.0.0.60");
    expect_refused(*fresh_address, "connection 51 from a new address");
    auto allow_listed = connect("127.0.0.9");
    expect_refused(*allow_listed, "connection 52 from an allow-listed address");
    expect_served(*clients.front(), 7, "the first of the 50");

    const std::string stats = stats_line_with("refused at accept: address cap 0, total cap 2");
    EXPECT_NE(stats.find("refused at accept: address cap 0, total cap 2"), std::string::npos) << stats;
    EXPECT_EQ(count_of(log(), "refusing connections: 50 open in all (cap 50"), 1u) << log();
}

// 5 000 connections that never say a word are all closed at the deadline, while an
// honest miner beside them has every share answered.
TEST_F(DefenseTest, SilentConnectionsClosedAtTheSubscribeDeadline) {
    constexpr int kSilent = 5000;
    if (file_limit() < kSilent + 300) GTEST_SKIP() << "needs a file limit of " << kSilent + 300;
    start_server({"--subscribe-timeout-s", "2"});
    const auto d1 = load_d1();
    ASSERT_EQ(d1.size(), 200u);

    LineClient miner(port_);
    miner.send(subscribe_request(1, kMinerD1));
    ASSERT_EQ(miner.read_message(), accepted(1));
    ASSERT_TRUE(miner.read_message().is_notify());

    // Submits in rounds while the silent connections arrive and are closed.
    std::size_t next_share = 0;
    const auto submit_round = [&](std::size_t count) {
        std::string lines;
        const std::size_t first = next_share;
        for (; next_share < d1.size() && next_share < first + count; ++next_share)
            lines += d1_submit(100 + static_cast<int>(next_share), d1[next_share]);
        miner.send(lines);
        for (std::size_t i = first; i < next_share; ++i)
            EXPECT_EQ(miner.read_message(), accepted(100 + static_cast<int>(i))) << "share " << i;
    };

    std::vector<std::unique_ptr<LineClient>> silent;
    silent.reserve(kSilent);
    for (int i = 0; i < kSilent; ++i) {
        // 127.0.0.10 .. 127.0.0.40: about 160 each, under the per-address cap.
        silent.push_back(connect("127.0.0." + std::to_string(10 + i % 31)));
        if (i % 1000 == 999) submit_round(25);
    }
    for (int i = 0; i < kSilent; ++i) {
        ASSERT_TRUE(silent[static_cast<std::size_t>(i)]->closed_by_server(15000ms)) << "silent connection " << i;
    }
    submit_round(d1.size());
    EXPECT_EQ(next_share, d1.size());

    const std::string stats = stats_line_with("no subscribe 5000,");
    EXPECT_NE(stats.find("no subscribe 5000, banned 0; refused at accept: address cap 0, total cap 0, banned 0"),
              std::string::npos)
        << stats;
}

// A connection that subscribes in time is not closed by the deadline; one that talks
// but never subscribes is.
TEST_F(DefenseTest, SubscribedConnectionOutlivesTheDeadline) {
    start_server({"--subscribe-timeout-s", "1"});
    LineClient subscriber(port_);
    subscriber.send(subscribe_request(1, kMiner));
    ASSERT_EQ(subscriber.read_message(), accepted(1));
    ASSERT_TRUE(subscriber.read_message().is_notify());

    // Accepted after the subscriber was: its deadline comes later than the subscriber's.
    LineClient talker(port_);
    expect_served(talker, 5, "a connection before its deadline");
    EXPECT_TRUE(talker.closed_by_server(10000ms)) << "a connection without a subscribe was not closed";

    expect_served(subscriber, 6, "the subscribed connection, past its deadline");
    const std::string stats = stats_line_with("no subscribe 1,");
    EXPECT_NE(stats.find("no subscribe 1,"), std::string::npos) << stats;
}

}  // namespace
