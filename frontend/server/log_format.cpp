// The JSON log formatter (an spdlog::formatter) and the logging set-up main() calls.
#include "server/log_format.hpp"

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>

namespace sharegate::server {

namespace {

// The length of the well-formed UTF-8 sequence at the start of `text` (RFC 3629's table:
// no overlong forms, no surrogates, nothing past U+10FFFF), or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const auto continuation = [&](std::size_t i, unsigned char low = 0x80, unsigned char high = 0xBF) {
        return i < text.size() && byte(i) >= low && byte(i) <= high;
    };
    const unsigned char lead = byte(0);
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
    if (lead >= 0xE0 && lead <= 0xEF) {
        const unsigned char low = lead == 0xE0 ? 0xA0 : 0x80;   // E0 80..9F would be overlong
        const unsigned char high = lead == 0xED ? 0x9F : 0xBF;  // ED A0..BF are surrogates
        return continuation(1, low, high) && continuation(2) ? 3 : 0;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        const unsigned char low = lead == 0xF0 ? 0x90 : 0x80;   // F0 80..8F would be overlong
        const unsigned char high = lead == 0xF4 ? 0x8F : 0xBF;  // F4 90.. is past U+10FFFF
        return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
    }
    return 0;  // 80..C1 (a continuation byte, or an overlong lead) and F5..FF never start one
}

// "warn", not spdlog's "warning": the names --log-level takes.
std::string_view level_name(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace: return "trace";
        case spdlog::level::debug: return "debug";
        case spdlog::level::info: return "info";
        case spdlog::level::warn: return "warn";
        case spdlog::level::err: return "error";
        case spdlog::level::critical: return "critical";
        default: return "off";
    }
}

class JsonLogFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        // Each sink formats under its own lock; the scratch string is reused between lines.
        line_.clear();
        append_json_log_line(line_, msg.time, level_name(msg.level),
                             std::string_view(msg.logger_name.data(), msg.logger_name.size()),
                             std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(line_.data(), line_.data() + line_.size());
    }

    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLogFormatter>(); }

private:
    std::string line_;
};

void append_utc_timestamp(std::string& out, std::chrono::system_clock::time_point time) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(time - seconds).count();
    const std::time_t since_epoch = std::chrono::system_clock::to_time_t(seconds);
    std::tm utc{};
    ::gmtime_r(&since_epoch, &utc);
    char text[64];
    const int length =
        std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                      utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
    if (length > 0) out.append(text, std::min(static_cast<std::size_t>(length), sizeof text - 1));
}

}  // namespace

void append_json_log_string(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    while (!text.empty()) {
        const char c = text.front();
        const auto u = static_cast<unsigned char>(c);
        std::size_t length = 1;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (u < 0x20) {
                    out += "\\u00";
                    out.push_back(kHex[u >> 4]);
                    out.push_back(kHex[u & 0xF]);
                } else if ((length = utf8_sequence_length(text)) != 0) {
                    out.append(text.substr(0, length));
                } else {
                    // One replacement a bad byte: the next byte may start a good sequence.
                    out += "\\ufffd";
                    length = 1;
                }
        }
        text.remove_prefix(length);
    }
    out.push_back('"');
}

void append_json_log_line(std::string& out, std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view logger, std::string_view message) {
    out += "{\"ts\":\"";
    append_utc_timestamp(out, time);
    out += "\",\"level\":";
    append_json_log_string(out, level);
    out += ",\"logger\":";
    // spdlog's default logger has no name; the line still says whose it is.
    append_json_log_string(out, logger.empty() ? std::string_view("sharegate") : logger);
    out += ",\"msg\":";
    append_json_log_string(out, message);
    out += "}\n";
}

void configure_logging(const std::string& level, LogFormat format) {
    spdlog::set_level(spdlog::level::from_str(level));
    if (format == LogFormat::json) spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
}

}  // namespace sharegate::server
