// The admission rules alone: strict CIDR parsing, range matching at the edge prefixes and
// across the IPv4/IPv6 divide, the caps, the once-per-episode report, and that the
// per-address records hold only addresses with connections open.
#include "server/admission.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace {

using sharegate::server::Admission;
using sharegate::server::Cidr;
using sharegate::server::IpAddress;
using Verdict = Admission::Verdict;

IpAddress ip(const std::string& text) {
    auto parsed = IpAddress::parse(text);
    EXPECT_TRUE(parsed) << text;
    return parsed.value_or(IpAddress{});
}

Cidr cidr(const std::string& text) {
    std::string why;
    auto parsed = Cidr::parse(text, &why);
    EXPECT_TRUE(parsed) << text << ": " << why;
    return parsed.value_or(Cidr{});
}

TEST(Cidr, ParsesWhatIsWritten) {
    EXPECT_EQ(cidr("10.0.0.0/8").to_string(), "10.0.0.0/8");
    EXPECT_EQ(cidr("127.0.0.1/32").to_string(), "127.0.0.1/32");
    EXPECT_EQ(cidr("0.0.0.0/0").to_string(), "0.0.0.0/0");
    EXPECT_EQ(cidr("::1/128").to_string(), "::1/128");
    EXPECT_EQ(cidr("::/0").to_string(), "::/0");
    EXPECT_EQ(cidr("2001:db8::/32").to_string(), "2001:db8::/32");
    EXPECT_EQ(cidr("10.0.0.0/8").prefix, 104u);  // held as the range of the mapped addresses
}

TEST(Cidr, RefusesAnythingLoose) {
    for (const char* bad : {
             "",
             "10.0.0.0",          // no prefix
             "10.0.0.0/",         // empty prefix
             "/8",                // no address
             "10.0.0.0/33",       // past 32
             "::/129",            // past 128
             "10.0.0.0/-1",       // sign
             "10.0.0.0/+8",       // sign
             "10.0.0.0/08",       // leading zero
             "10.0.0.0/8 ",       // trailing space
             " 10.0.0.0/8",       // leading space
             "10.0.0.0/8/8",      // two prefixes
             "10.1/16",           // shortened IPv4
             "10.0.0.256/32",     // octet too big
             "010.0.0.0/8",       // leading zero in a quad
             "10..0.0/8",         // empty quad
             "10.0.0.0./8",       // trailing dot
             "10.0.0.1/8",        // host bits set
             "::1/64",            // host bits set
             "fe80::1%eth0/128",  // zone
             "[::1]/128",         // brackets
             "::g/128",           // not hex
             "localhost/32",      // a name
         }) {
        std::string why;
        EXPECT_FALSE(Cidr::parse(bad, &why)) << '"' << bad << '"';
        if (*bad) {
            EXPECT_FALSE(why.empty()) << bad;
        }
    }
}

TEST(Cidr, EdgePrefixes) {
    const Cidr all_v4 = cidr("0.0.0.0/0");
    EXPECT_TRUE(all_v4.contains(ip("0.0.0.0")));
    EXPECT_TRUE(all_v4.contains(ip("255.255.255.255")));
    EXPECT_FALSE(all_v4.contains(ip("::1")));  // IPv4's /0 is all of IPv4 only

    const Cidr host = cidr("127.0.0.1/32");
    EXPECT_TRUE(host.contains(ip("127.0.0.1")));
    EXPECT_FALSE(host.contains(ip("127.0.0.2")));
    EXPECT_FALSE(host.contains(ip("127.0.0.0")));

    const Cidr all_v6 = cidr("::/0");
    EXPECT_TRUE(all_v6.contains(ip("::1")));
    EXPECT_TRUE(all_v6.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
    EXPECT_TRUE(all_v6.contains(ip("10.0.0.1")));  // documented: ::/0 holds the mapped IPv4 addresses too

    const Cidr loopback6 = cidr("::1/128");
    EXPECT_TRUE(loopback6.contains(ip("::1")));
    EXPECT_FALSE(loopback6.contains(ip("::2")));
    EXPECT_FALSE(loopback6.contains(ip("::")));
    EXPECT_FALSE(loopback6.contains(ip("127.0.0.1")));  // IPv6 loopback is not IPv4 loopback

    // Prefixes that end inside a byte.
    const Cidr odd = cidr("192.168.0.0/23");
    EXPECT_TRUE(odd.contains(ip("192.168.1.255")));
    EXPECT_FALSE(odd.contains(ip("192.168.2.0")));
    EXPECT_FALSE(odd.contains(ip("192.167.255.255")));
    const Cidr odd6 = cidr("2001:db8:8000::/33");
    EXPECT_TRUE(odd6.contains(ip("2001:db8:ffff::1")));
    EXPECT_FALSE(odd6.contains(ip("2001:db8:7fff::1")));
}

// An IPv6 listener sees an IPv4 peer as ::ffff:a.b.c.d: the IPv4 range must hold it.
TEST(Cidr, V4MappedAddressesMatchIpv4Ranges) {
    const Cidr private10 = cidr("10.0.0.0/8");
    EXPECT_TRUE(private10.contains(ip("::ffff:10.0.0.1")));
    EXPECT_TRUE(private10.contains(ip("10.0.0.1")));
    EXPECT_FALSE(private10.contains(ip("::ffff:11.0.0.1")));
    EXPECT_FALSE(private10.contains(ip("::10.0.0.1")));  // IPv4-compatible (deprecated) is not mapped
    EXPECT_EQ(ip("::ffff:10.0.0.1"), ip("10.0.0.1"));
    EXPECT_EQ(ip("::ffff:10.0.0.1").to_string(), "10.0.0.1");
    // A range written in the mapped form is the same range.
    EXPECT_TRUE(cidr("::ffff:10.0.0.0/104").contains(ip("10.255.0.1")));
}

struct Episode {
    Verdict verdict;
    std::string address;
    std::size_t open;
    std::size_t cap;
};

class AdmissionTest : public ::testing::Test {
protected:
    std::unique_ptr<Admission> make(std::size_t per_address, std::size_t total, std::vector<Cidr> allow = {}) {
        return std::make_unique<Admission>(
            Admission::Limits{per_address, total, std::move(allow)},
            [this](Verdict verdict, const IpAddress& address, std::size_t open, std::size_t cap) {
                episodes.push_back({verdict, address.to_string(), open, cap});
            });
    }
    std::vector<Episode> episodes;
};

TEST_F(AdmissionTest, PerAddressCapAndItsEpisodes) {
    auto admission = make(3, 100);
    const IpAddress a = ip("192.0.2.1"), b = ip("192.0.2.2");
    for (int i = 0; i < 3; ++i) EXPECT_EQ(admission->admit(a), Verdict::admitted);
    EXPECT_EQ(admission->admit(a), Verdict::over_address_cap);
    EXPECT_EQ(admission->admit(a), Verdict::over_address_cap);
    EXPECT_EQ(admission->admit(b), Verdict::admitted);  // another address is untouched
    ASSERT_EQ(episodes.size(), 1u);                     // once per episode, not per refusal
    EXPECT_EQ(episodes[0].verdict, Verdict::over_address_cap);
    EXPECT_EQ(episodes[0].address, "192.0.2.1");
    EXPECT_EQ(episodes[0].open, 3u);
    EXPECT_EQ(episodes[0].cap, 3u);

    // Below the cap again: the episode is over, and the next refusal starts a new one.
    admission->release(a);
    EXPECT_EQ(admission->admit(a), Verdict::admitted);
    EXPECT_EQ(admission->admit(a), Verdict::over_address_cap);
    EXPECT_EQ(episodes.size(), 2u);
    EXPECT_EQ(admission->open_total(), 4u);
    EXPECT_EQ(admission->open_from(a), 3u);
}

TEST_F(AdmissionTest, TotalCapSparesNoOne) {
    auto admission = make(10, 4, {cidr("127.0.0.0/8")});
    for (int i = 0; i < 4; ++i) EXPECT_EQ(admission->admit(ip("192.0.2." + std::to_string(i + 1))), Verdict::admitted);
    EXPECT_EQ(admission->admit(ip("192.0.2.9")), Verdict::over_total_cap);
    EXPECT_EQ(admission->admit(ip("127.0.0.1")), Verdict::over_total_cap);  // allow-listed, still refused
    ASSERT_EQ(episodes.size(), 1u);
    EXPECT_EQ(episodes[0].verdict, Verdict::over_total_cap);
    EXPECT_EQ(episodes[0].open, 4u);
    EXPECT_EQ(episodes[0].cap, 4u);
    admission->release(ip("192.0.2.1"));
    EXPECT_EQ(admission->admit(ip("127.0.0.1")), Verdict::admitted);
    EXPECT_EQ(admission->admit(ip("127.0.0.2")), Verdict::over_total_cap);
    EXPECT_EQ(episodes.size(), 2u);
}

TEST_F(AdmissionTest, AllowListedAddressesAreNotCappedPerAddress) {
    auto admission = make(2, 1000, {cidr("10.0.0.0/8"), cidr("::1/128")});
    for (int i = 0; i < 50; ++i) {
        EXPECT_EQ(admission->admit(ip("10.1.2.3")), Verdict::admitted);
        EXPECT_EQ(admission->admit(ip("::ffff:10.1.2.4")), Verdict::admitted);
        EXPECT_EQ(admission->admit(ip("::1")), Verdict::admitted);
    }
    EXPECT_EQ(admission->admit(ip("11.0.0.1")), Verdict::admitted);
    EXPECT_EQ(admission->admit(ip("11.0.0.1")), Verdict::admitted);
    EXPECT_EQ(admission->admit(ip("11.0.0.1")), Verdict::over_address_cap);
    EXPECT_EQ(admission->open_total(), 152u);
    EXPECT_EQ(admission->tracked_addresses(), 1u);  // allow-listed addresses need no record
    for (int i = 0; i < 50; ++i) admission->release(ip("10.1.2.3"));
    EXPECT_EQ(admission->open_total(), 102u);
}

TEST_F(AdmissionTest, RecordsOnlyAddressesWithConnectionsOpen) {
    auto admission = make(1, 1'000'000);
    for (std::uint32_t i = 0; i < 10'000; ++i) {
        const IpAddress address = IpAddress::v4(0xC6120000u + i);
        ASSERT_EQ(admission->admit(address), Verdict::admitted);
        ASSERT_EQ(admission->admit(address), Verdict::over_address_cap);  // a refusal adds no record
        admission->release(address);
    }
    EXPECT_EQ(admission->tracked_addresses(), 0u);
    EXPECT_EQ(admission->open_total(), 0u);
}

TEST_F(AdmissionTest, SlotReleasesOnce) {
    auto admission = make(1, 10);
    const IpAddress a = ip("192.0.2.1");
    {
        ASSERT_EQ(admission->admit(a), Verdict::admitted);
        Admission::Slot slot(*admission, a);
        Admission::Slot moved = std::move(slot);
        EXPECT_EQ(admission->open_total(), 1u);
        moved.release();
        EXPECT_EQ(admission->open_total(), 0u);
        ASSERT_EQ(admission->admit(a), Verdict::admitted);
        moved = Admission::Slot(*admission, a);
    }  // both destroyed: the second count released, the first not twice
    EXPECT_EQ(admission->open_total(), 0u);
    EXPECT_EQ(admission->tracked_addresses(), 0u);
}

// Accepting threads admit and release at once; the counts must come out exact.
TEST_F(AdmissionTest, ThreadSafe) {
    constexpr int kThreads = 4, kRounds = 20000;
    auto admission = make(1'000'000, 1'000'000);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&admission, t] {
            const IpAddress address = IpAddress::v4(0x7F000000u + static_cast<std::uint32_t>(t % 2));
            for (int i = 0; i < kRounds; ++i) {
                if (admission->admit(address) == Verdict::admitted) admission->release(address);
            }
            for (int i = 0; i < 10; ++i) admission->admit(address);
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(admission->open_total(), static_cast<std::size_t>(kThreads * 10));
    EXPECT_EQ(admission->tracked_addresses(), 2u);
    EXPECT_TRUE(episodes.empty());
}

}  // namespace
