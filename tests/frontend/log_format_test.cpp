// The JSON log lines (server/log_format.hpp) without a process: any message, whatever its
// bytes, becomes one line that simdjson reads back as an object with the expected fields;
// the spdlog wiring (configure_logging) writes those lines; --log-format parses.
#include "server/log_format.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "server/options.hpp"

namespace {

using sharegate::server::append_json_log_line;
using sharegate::server::append_json_log_string;
using sharegate::server::LogFormat;

constexpr const char* kPool = "0x1b7bfB694eE51913c347971c7090a74AEFbd41f6";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD as UTF-8

// 2026-11-30T22:10:01.123Z
std::chrono::system_clock::time_point sample_time() {
    using namespace std::chrono;
    return sys_days{year{2026} / November / 30} + hours{22} + minutes{10} + seconds{1} + milliseconds{123};
}

struct Parsed {
    bool ok = false;
    std::string error;
    std::string ts, level, logger, msg;
};

// One line (without its newline) as a JSON object with the four string fields.
Parsed parse_line(std::string_view line) {
    Parsed out;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (auto error = parser.parse(simdjson::padded_string(line)).get(root)) {
        out.error = simdjson::error_message(error);
        return out;
    }
    simdjson::dom::object object;
    if (root.get(object)) {
        out.error = "not an object";
        return out;
    }
    for (auto [name, target] : {std::pair<const char*, std::string*>{"ts", &out.ts},
                                {"level", &out.level},
                                {"logger", &out.logger},
                                {"msg", &out.msg}}) {
        std::string_view value;
        if (object[name].get(value)) {
            out.error = std::string("no string field ") + name;
            return out;
        }
        target->assign(value);
    }
    out.ok = true;
    return out;
}

// The message as the line carries it, decoded by simdjson.
std::string round_trip(std::string_view message) {
    std::string line;
    append_json_log_line(line, sample_time(), "info", "", message);
    EXPECT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line: " << line;
    const Parsed parsed = parse_line(std::string_view(line).substr(0, line.size() - 1));
    EXPECT_TRUE(parsed.ok) << parsed.error << ": " << line;
    return parsed.msg;
}

TEST(JsonLogLine, FieldsAndTimestamp) {
    std::string line;
    append_json_log_line(line, sample_time(), "warn", "", "redis: connection lost");
    EXPECT_EQ(line,
              R"({"ts":"2026-11-30T22:10:01.123Z","level":"warn","logger":"sharegate","msg":"redis: connection lost"})"
              "\n");
    line.clear();
    append_json_log_line(line, sample_time() - std::chrono::milliseconds(123), "info", "other", "m");
    const Parsed parsed = parse_line(std::string_view(line).substr(0, line.size() - 1));
    ASSERT_TRUE(parsed.ok) << parsed.error;
    EXPECT_EQ(parsed.ts, "2026-11-30T22:10:01.000Z");  // the milliseconds are always three digits
    EXPECT_EQ(parsed.logger, "other");
}

TEST(JsonLogLine, QuotesBackslashesAndControlCharacters) {
    const std::string message = std::string("say \"hi\" \\ path\\to\n\r\t\b\f") + '\0' + "\x01\x1f\x7f end";
    EXPECT_EQ(round_trip(message), message);
    std::string text;
    append_json_log_string(text, std::string("a\0b\x1b", 4));
    EXPECT_EQ(text, R"("a\u0000b\u001b")");
}

TEST(JsonLogLine, ValidUtf8IsKept) {
    const std::string message = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF \xF4\x8F\xBF\xBF";
    EXPECT_EQ(round_trip(message), message);
}

TEST(JsonLogLine, InvalidUtf8BecomesReplacementCharacters) {
    const std::string r(kReplacement);
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"worker \xFF name", "worker " + r + " name"},
        {"\xFF\xFE", r + r},
        {"stray \x80 continuation", "stray " + r + " continuation"},
        {"overlong \xC0\xAF slash", "overlong " + r + r + " slash"},
        {"overlong \xE0\x80\xAF three", "overlong " + r + r + r + " three"},
        {"surrogate \xED\xA0\x80 half", "surrogate " + r + r + r + " half"},
        {"past max \xF4\x90\x80\x80", "past max " + r + r + r + r},
        {"\xF5\x80", r + r},
        {"cut short \xE2\x82", "cut short " + r + r},
        {"cut then ascii \xC3 a", "cut then ascii " + r + " a"},
        {"\xE2\x82\xAC\xFF\xE2\x82\xAC", "\xE2\x82\xAC" + r + "\xE2\x82\xAC"},
    };
    for (const auto& [message, expected] : cases) EXPECT_EQ(round_trip(message), expected) << message;
}

TEST(JsonLogLine, EveryByteAloneMakesValidJson) {
    for (int b = 0; b < 256; ++b) {
        // Built in place: `"x" + std::string&&` trips GCC 12's -Wrestrict false positive at -O2.
        std::string message = "x";
        message += static_cast<char>(b);
        message += "\"y";
        const std::string decoded = round_trip(message);
        EXPECT_FALSE(decoded.empty()) << "byte " << b;
    }
}

// configure_logging puts the JSON formatter on every registered logger's sinks, and its level.
TEST(ConfigureLogging, JsonLinesThroughSpdlog) {
    std::ostringstream stream;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream);
    auto logger = std::make_shared<spdlog::logger>("sharegate-test", sink);
    spdlog::register_logger(logger);
    sharegate::server::configure_logging("info", LogFormat::json);
    logger->debug("not at info");
    logger->info("miner {} sent \"{}\"", "0xabc", std::string("junk\xFF\n"));
    logger->warn("second");
    spdlog::drop("sharegate-test");

    std::vector<Parsed> lines;
    std::istringstream in(stream.str());
    for (std::string line; std::getline(in, line);) {
        lines.push_back(parse_line(line));
        EXPECT_TRUE(lines.back().ok) << lines.back().error << ": " << line;
    }
    ASSERT_EQ(lines.size(), 2u) << stream.str();
    EXPECT_EQ(lines[0].level, "info");
    EXPECT_EQ(lines[0].logger, "sharegate-test");
    EXPECT_EQ(lines[0].msg, "miner 0xabc sent \"junk" + std::string(kReplacement) + "\n\"");
    EXPECT_EQ(lines[1].level, "warn");
}

sharegate::server::ParseResult parse(std::vector<std::string> args) {
    args.insert(args.begin(), "sharegate");
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    return sharegate::server::parse_options(static_cast<int>(argv.size()), argv.data());
}

TEST(LogFormatOption, TextByDefaultJsonOnRequestOthersRefused) {
    auto plain = parse({"--pool-address", kPool});
    ASSERT_EQ(plain.action, sharegate::server::ParseResult::Action::run) << plain.message;
    EXPECT_EQ(plain.options.log_format, LogFormat::text);
    auto json = parse({"--pool-address", kPool, "--log-format", "json"});
    ASSERT_EQ(json.action, sharegate::server::ParseResult::Action::run) << json.message;
    EXPECT_EQ(json.options.log_format, LogFormat::json);
    auto xml = parse({"--pool-address", kPool, "--log-format", "xml"});
    EXPECT_EQ(xml.action, sharegate::server::ParseResult::Action::error);
    EXPECT_NE(xml.message.find("--log-format"), std::string::npos) << xml.message;
    EXPECT_EQ(xml.message.find('\n'), std::string::npos) << xml.message;
}

}  // namespace
