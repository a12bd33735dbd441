// How the server's log lines look: spdlog's usual text lines, or one JSON object a line
// for log shippers (--log-format json). Messages can carry what a miner sent (a worker
// name, a piece of a junk line), so the JSON writer makes a valid line out of any bytes.
// No spdlog here: options.hpp includes this, and the fuzz targets link options.hpp's
// users without spdlog.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace sharegate::server {

enum class LogFormat { text, json };

// Sets the default logger's level ("trace" ... "error", as --log-level checks them) and,
// for json, replaces its pattern with the JSON formatter. Text keeps spdlog's default pattern.
void configure_logging(const std::string& level, LogFormat format);

// Appends one event as a JSON object and a newline:
// {"ts":"2026-11-30T22:10:01.123Z","level":"info","logger":"sharegate","msg":"..."}
// `ts` is UTC with milliseconds (RFC 3339); an empty `logger` is written as "sharegate".
void append_json_log_line(std::string& out, std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view logger, std::string_view message);

// Appends `text` as a JSON string that is valid whatever the bytes: the quote, the
// backslash and control characters escaped, each byte that is not part of well-formed
// UTF-8 (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, a
// sequence cut short) replaced by U+FFFD: protocol/json_text.hpp's writer with
// InvalidUtf8::replace, since a log message (a miner's junk line in it) need not be UTF-8.
void append_json_log_string(std::string& out, std::string_view text);

}  // namespace sharegate::server
