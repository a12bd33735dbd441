#include "protocol/line_framer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sharegate_test {
namespace {

using sharegate::protocol::LineFramer;

constexpr std::size_t kLimit = 10 * 1024;

struct Collected {
    std::vector<std::string> lines;
    auto sink() {
        return [this](std::string_view line) { lines.emplace_back(line); };
    }
};

TEST(LineFramer, HundredLinesInOneFeed) {
    LineFramer framer(kLimit);
    Collected got;
    std::string bytes;
    for (int i = 0; i < 100; ++i) bytes += "line " + std::to_string(i) + "\n";
    ASSERT_TRUE(framer.feed(bytes, got.sink()));
    ASSERT_EQ(got.lines.size(), 100u);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(got.lines[i], "line " + std::to_string(i));
    EXPECT_EQ(framer.pending(), 0u);
}

TEST(LineFramer, SplitByteByByte) {
    LineFramer framer(kLimit);
    Collected got;
    const std::string bytes = "{\"id\":1}\r\n\nsecond\nthird";
    for (const char c : bytes) ASSERT_TRUE(framer.feed(std::string_view(&c, 1), got.sink()));
    EXPECT_EQ(got.lines, (std::vector<std::string>{"{\"id\":1}", "", "second"}));
    EXPECT_EQ(framer.pending(), 5u);  // "third" waits for its newline
    ASSERT_TRUE(framer.feed("\n", got.sink()));
    EXPECT_EQ(got.lines.back(), "third");
    EXPECT_EQ(framer.pending(), 0u);
}

TEST(LineFramer, LineStraddlingFeedsThenManyInOne) {
    LineFramer framer(kLimit);
    Collected got;
    ASSERT_TRUE(framer.feed("ab", got.sink()));
    ASSERT_TRUE(framer.feed("cd\nef\ngh", got.sink()));
    ASSERT_TRUE(framer.feed("\n", got.sink()));
    EXPECT_EQ(got.lines, (std::vector<std::string>{"abcd", "ef", "gh"}));
}

TEST(LineFramer, StripsOneCarriageReturnOnly) {
    LineFramer framer(kLimit);
    Collected got;
    // The '\r' before a newline that arrives in the next feed is stripped as well.
    ASSERT_TRUE(framer.feed("a\r\nb\r\r\nc\r", got.sink()));
    ASSERT_TRUE(framer.feed("\nd\re\n", got.sink()));
    EXPECT_EQ(got.lines, (std::vector<std::string>{"a", "b\r", "c", "d\re"}));
}

TEST(LineFramer, EmptyLinesAreDeliveredEmpty) {
    LineFramer framer(kLimit);
    Collected got;
    ASSERT_TRUE(framer.feed("\n\r\n\n", got.sink()));
    EXPECT_EQ(got.lines, (std::vector<std::string>{"", "", ""}));
}

TEST(LineFramer, UnterminatedLinePastLimitFails) {
    LineFramer framer(kLimit);
    Collected got;
    const std::string exact(kLimit, 'x');
    ASSERT_TRUE(framer.feed("done\n" + exact, got.sink()));  // at the limit: still fine
    EXPECT_EQ(framer.pending(), kLimit);
    EXPECT_FALSE(framer.feed("y", got.sink()));  // one byte past it
    EXPECT_EQ(got.lines, (std::vector<std::string>{"done"}));
}

TEST(LineFramer, UnterminatedLinePastLimitInOneFeedFails) {
    LineFramer framer(kLimit);
    Collected got;
    EXPECT_FALSE(framer.feed("a\nb\n" + std::string(kLimit + 1, 'x'), got.sink()));
    // The complete lines before the flood were still delivered.
    EXPECT_EQ(got.lines, (std::vector<std::string>{"a", "b"}));
}

TEST(LineFramer, CompleteLinePastLimitInOneFeedFails) {
    LineFramer framer(kLimit);
    Collected got;
    const std::string exact(kLimit, 'x');
    ASSERT_TRUE(framer.feed("a\n" + exact + "\n", got.sink()));  // exactly at the limit: delivered
    EXPECT_FALSE(framer.feed("b\n" + exact + "y\nc\n", got.sink()));
    // Lines before the long one were delivered; it and those after it never are.
    EXPECT_EQ(got.lines, (std::vector<std::string>{"a", exact, "b"}));
}

TEST(LineFramer, LineStraddlingFeedsPastLimitFails) {
    LineFramer framer(kLimit);
    Collected got;
    // Each part is under the limit, the line they make is one byte over.
    ASSERT_TRUE(framer.feed(std::string(kLimit / 2, 'x'), got.sink()));
    EXPECT_FALSE(framer.feed(std::string(kLimit / 2 + 1, 'x') + "\n", got.sink()));
    EXPECT_TRUE(got.lines.empty());
}

TEST(LineFramer, ManyCompleteLinesFarPastLimitAreFine) {
    LineFramer framer(kLimit);
    Collected got;
    // Forty pipelined submits are about 10 KiB; this is ten times the limit in one feed.
    const std::string line(255, 's');
    std::string bytes;
    for (int i = 0; i < 400; ++i) bytes += line + "\n";
    ASSERT_GT(bytes.size(), 9 * kLimit);
    ASSERT_TRUE(framer.feed(bytes, got.sink()));
    ASSERT_TRUE(framer.feed(bytes, got.sink()));
    EXPECT_EQ(got.lines.size(), 800u);
    EXPECT_EQ(got.lines.front(), line);
    EXPECT_EQ(framer.pending(), 0u);
}

TEST(LineFramer, LimitCountsOnlyTheRestAfterCompleteLines) {
    LineFramer framer(kLimit);
    Collected got;
    // 9 KiB of complete lines, then 9 KiB unterminated: together far over, each under.
    std::string bytes;
    for (int i = 0; i < 9; ++i) bytes += std::string(1023, 'c') + "\n";
    bytes += std::string(9 * 1024, 'u');
    ASSERT_TRUE(framer.feed(bytes, got.sink()));
    EXPECT_EQ(got.lines.size(), 9u);
    EXPECT_EQ(framer.pending(), 9u * 1024);
}

TEST(LineFramer, ManySmallLinesAreLinear) {
    LineFramer framer(kLimit);
    std::size_t count = 0, total = 0;
    // A million tiny lines in one feed: quadratic copying of the rest would take minutes.
    std::string bytes;
    for (int i = 0; i < 1000000; ++i) bytes += "x\n";
    ASSERT_TRUE(framer.feed(bytes, [&](std::string_view line) {
        ++count;
        total += line.size();
    }));
    EXPECT_EQ(count, 1000000u);
    EXPECT_EQ(total, 1000000u);
}

}  // namespace
}  // namespace sharegate_test
