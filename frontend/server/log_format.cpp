// The JSON log formatter (an spdlog::formatter) and the logging set-up main() calls.
#include "server/log_format.hpp"

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>

#include "protocol/json_text.hpp"

namespace sharegate::server {

namespace {

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
    protocol::append_json_string(out, text, protocol::InvalidUtf8::replace);
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
