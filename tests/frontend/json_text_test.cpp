// append_json_string against known answers: what goes out verbatim, every escape, and both
// treatments of bytes that are not UTF-8.
#include "protocol/json_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace sharegate::protocol {
namespace {

std::string as_json(std::string_view text, InvalidUtf8 invalid = InvalidUtf8::pass_through) {
    std::string out;
    append_json_string(out, text, invalid);
    return out;
}

TEST(JsonString, PlainTextGoesOutBetweenQuotes) {
    EXPECT_EQ(as_json(""), R"("")");
    EXPECT_EQ(as_json("0x0AbCdef123"), R"("0x0AbCdef123")");
    EXPECT_EQ(as_json("Invalid digest"), R"("Invalid digest")");
    EXPECT_EQ(as_json("~\x7f"), "\"~\x7f\"");  // DEL is no control character to JSON
}

TEST(JsonString, AppendsToWhatIsThere) {
    std::string out = "[1,";
    append_json_string(out, "a");
    EXPECT_EQ(out, R"([1,"a")");
}

TEST(JsonString, EscapesTheQuoteTheBackslashAndControlCharacters) {
    EXPECT_EQ(as_json("a\"b\\c"), R"("a\"b\\c")");
    EXPECT_EQ(as_json("\b\f\n\r\t"), R"("\b\f\n\r\t")");
    EXPECT_EQ(as_json(std::string_view("\0\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
    EXPECT_EQ(as_json("\"\""), R"("\"\"")");
}

TEST(JsonString, EscapesWhereverTheyFallInALongText) {
    const std::string run(1000, 'a');
    EXPECT_EQ(as_json(run + "\n"), "\"" + run + "\\n\"");
    EXPECT_EQ(as_json("\n" + run), "\"\\n" + run + "\"");
    EXPECT_EQ(as_json(run + "\"" + run), "\"" + run + "\\\"" + run + "\"");
}

TEST(JsonString, WellFormedUtf8GoesOutAsItIsEitherWay) {
    const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";  // é, €, an emoji
    EXPECT_EQ(as_json(text), "\"" + text + "\"");
    EXPECT_EQ(as_json(text, InvalidUtf8::replace), "\"" + text + "\"");
}

TEST(JsonString, BadBytesPassThroughOrEachBecomeAReplacement) {
    EXPECT_EQ(as_json("a\xff"
                      "b"),
              "\"a\xff"
              "b\"");
    EXPECT_EQ(as_json("a\xff"
                      "b",
                      InvalidUtf8::replace),
              R"("a\ufffdb")");
    // Cut short, a stray continuation, an overlong form, a surrogate: a replacement a byte.
    EXPECT_EQ(as_json("x\xc3", InvalidUtf8::replace), R"("x\ufffd")");
    EXPECT_EQ(as_json("\x80x", InvalidUtf8::replace), R"("\ufffdx")");
    EXPECT_EQ(as_json("\xc0\xaf", InvalidUtf8::replace), R"("\ufffd\ufffd")");
    EXPECT_EQ(as_json("\xed\xa0\x80", InvalidUtf8::replace), R"("\ufffd\ufffd\ufffd")");
    // A good sequence right after a bad byte survives it.
    EXPECT_EQ(as_json("\xff\xc3\xa9", InvalidUtf8::replace), "\"\\ufffd\xc3\xa9\"");
}

}  // namespace
}  // namespace sharegate::protocol
