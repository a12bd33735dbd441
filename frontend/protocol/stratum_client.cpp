#include "protocol/stratum_client.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "protocol/padded_line.hpp"

namespace sharegate::protocol {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

bool needs_escape(char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; }

// JSON string escaping: the quote, the backslash and control characters. Hex and
// addresses, all a client sends in the steady state, take the one-append path.
void append_json_string(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    if (std::none_of(text.begin(), text.end(), needs_escape)) {
        out += text;
        out.push_back('"');
        return;
    }
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (u < 0x20) {
            out += "\\u00";
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 0xF]);
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
}

void append_number(std::string& out, std::uint64_t value) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    (void)ec;  // 24 characters hold any 64-bit value
    out.append(digits, end);
}

}  // namespace

std::string subscribe_request(std::uint64_t id, std::string_view miner, std::optional<std::string_view> client_id) {
    std::string out = R"({"id":)";
    append_number(out, id);
    out += R"(,"method":"mining.subscribe","params":[)";
    append_json_string(out, miner);
    if (client_id) {
        out.push_back(',');
        append_json_string(out, *client_id);
    }
    out += "]}\n";
    return out;
}

void append_submit_request(std::string& out, std::uint64_t id, std::string_view nonce, std::string_view miner,
                           std::string_view digest, std::string_view difficulty, std::string_view challenge) {
    out += R"({"id":)";
    append_number(out, id);
    out += R"(,"method":"mining.submit","params":[)";
    append_json_string(out, nonce);
    out.push_back(',');
    append_json_string(out, miner);
    out.push_back(',');
    append_json_string(out, digest);
    out.push_back(',');
    out += difficulty;
    out.push_back(',');
    append_json_string(out, challenge);
    out += "]}\n";
}

std::string submit_request(std::uint64_t id, std::string_view nonce, std::string_view miner, std::string_view digest,
                           std::string_view difficulty, std::string_view challenge) {
    std::string out;
    append_submit_request(out, id, nonce, miner, digest, difficulty, challenge);
    return out;
}

std::string submit_request(std::uint64_t id, std::string_view nonce, std::string_view miner, std::string_view digest,
                           std::uint64_t difficulty, std::string_view challenge) {
    std::string text;
    append_number(text, difficulty);
    return submit_request(id, nonce, miner, digest, text, challenge);
}

namespace {

// A server line is a few hundred bytes and two levels deep; anything far beyond that is
// not stratum, and refusing it early keeps each connection's parser small (about 4 KiB).
constexpr std::size_t kMaxLineBytes = 64 * 1024;
constexpr std::size_t kMaxDepth = 8;
// The longest notify (a 78-digit target, a 20-digit difficulty) is under 300 bytes, so
// the parser's buffers never grow after the first line.
constexpr std::size_t kInitialCapacity = 320;

// The members a client reads, found in one pass over the object (a reply is read for
// every share a load generator sends, so four lookups would cost more than the pass).
struct Members {
    std::optional<element> id, method, params, result, error;

    explicit Members(object root) {
        for (const simdjson::dom::key_value_pair field : root) {
            const std::string_view key = field.key;
            if (key == "id") {
                id = field.value;
            } else if (key == "result") {
                result = field.value;
            } else if (key == "error") {
                error = field.value;
            } else if (key == "method") {
                method = field.value;
            } else if (key == "params") {
                params = field.value;
            }
        }
    }
};

// The id as JSON text, written into `text` (reused between lines).
bool read_id(element value, std::string& text) {
    text.clear();
    switch (value.type()) {
        case element_type::INT64: {
            const std::int64_t v = int64_t(value);
            if (v < 0) {
                text.push_back('-');
                append_number(text, 0 - static_cast<std::uint64_t>(v));
            } else {
                append_number(text, static_cast<std::uint64_t>(v));
            }
            return true;
        }
        case element_type::UINT64: append_number(text, uint64_t(value)); return true;
        case element_type::STRING: append_json_string(text, std::string_view(value)); return true;
        case element_type::NULL_VALUE: text = "null"; return true;
        default: return false;
    }
}

bool read_result(element value, ReplyResult& out) {
    switch (value.type()) {
        case element_type::BOOL: out = bool(value) ? ReplyResult::is_true : ReplyResult::is_false; return true;
        case element_type::NULL_VALUE: out = ReplyResult::is_null; return true;
        default: return false;
    }
}

// null, or [code, "message"] with an integer code.
bool read_error(element value, ServerReply& reply) {
    if (value.is_null()) return true;
    array pair;
    if (value.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2) return false;
    std::int64_t code = 0;
    std::string_view message;
    if (pair.at(0).get_int64().get(code) != simdjson::SUCCESS ||
        pair.at(1).get_string().get(message) != simdjson::SUCCESS) {
        return false;
    }
    if (code < std::numeric_limits<int>::min() || code > std::numeric_limits<int>::max()) return false;
    reply.has_error = true;
    reply.error_code = static_cast<int>(code);
    reply.error_message = message;
    return true;
}

bool read_reply(const Members& members, std::string& id_text, ServerReply& reply) {
    if (!members.id || !read_id(*members.id, id_text)) return false;
    reply.id = id_text;
    const bool has_result = members.result.has_value();
    const bool has_error = members.error.has_value();
    if (has_result && !read_result(*members.result, reply.result)) return false;
    if (has_error && !read_error(*members.error, reply)) return false;
    if (has_result && has_error) {
        reply.shape = ReplyShape::legacy;
        return true;
    }
    reply.shape = ReplyShape::jsonrpc2;
    // JSON-RPC 2.0 carries a verdict in whichever member it has: an "error" of null
    // alone says nothing.
    return has_result || reply.has_error;
}

// params: [challenge, decimal target, difficulty, pool address]; more are ignored.
bool read_notify(const Members& members, ServerNotify& notify) {
    array params;
    if (!members.params || members.params->get_array().get(params) != simdjson::SUCCESS) return false;
    element fields[4];
    std::size_t count = 0;
    for (element field : params) {
        if (count == 4) break;
        fields[count++] = field;
    }
    if (count < 4) return false;

    std::string_view challenge, target, pool;
    std::uint64_t difficulty = 0;
    if (fields[0].get_string().get(challenge) != simdjson::SUCCESS ||
        fields[1].get_string().get(target) != simdjson::SUCCESS ||
        fields[2].get_uint64().get(difficulty) != simdjson::SUCCESS ||
        fields[3].get_string().get(pool) != simdjson::SUCCESS || difficulty == 0) {
        return false;
    }
    const auto challenge_bytes = parse_hex32(challenge);
    const auto target_value = U256::from_decimal(target);
    const auto pool_address = Address::parse(pool);
    if (!challenge_bytes || !target_value || !pool_address) return false;
    notify.challenge = *challenge_bytes;
    notify.challenge_text = challenge;
    notify.target = *target_value;
    notify.difficulty = difficulty;
    notify.pool = *pool_address;
    return true;
}

}  // namespace

struct StratumClientParser::Impl {
    Impl() : parser(kMaxLineBytes) {
        // A small depth keeps the parser's fixed buffers small: a client may hold many
        // (a test one per connection, the load generator one per I/O thread). Should
        // this fail (no memory), the first parse allocates again.
        [[maybe_unused]] const simdjson::error_code allocated = parser.allocate(kInitialCapacity, kMaxDepth);
    }

    simdjson::dom::parser parser;
    // The line copied with simdjson's padding after it, and the reply's id as text;
    // both reused, so that the steady state allocates nothing per line.
    PaddedLine line;
    std::string id_text;
};

StratumClientParser::StratumClientParser() : impl_(std::make_unique<Impl>()) {}
StratumClientParser::~StratumClientParser() = default;
StratumClientParser::StratumClientParser(StratumClientParser&&) noexcept = default;
StratumClientParser& StratumClientParser::operator=(StratumClientParser&&) noexcept = default;

ServerMessage StratumClientParser::parse(std::string_view line) {
    ServerMessage message;
    if (line.size() > kMaxLineBytes) return message;

    const std::string_view padded = impl_->line.copy(line);

    // The DOM validates the whole line (JSON, UTF-8, numbers that fit 64 bits), so a
    // garbled line is refused as a whole rather than half read.
    element root;
    object object_root;
    if (impl_->parser.parse(padded.data(), padded.size(), false).get(root) != simdjson::SUCCESS ||
        root.get_object().get(object_root) != simdjson::SUCCESS) {
        return message;
    }

    const Members members(object_root);
    if (members.method) {
        std::string_view name;
        if (members.method->get_string().get(name) != simdjson::SUCCESS || name != "mining.notify" ||
            !read_notify(members, message.notify)) {
            return message;
        }
        message.kind = ServerMessage::Kind::notify;
        return message;
    }
    if (!read_reply(members, impl_->id_text, message.reply)) {
        message.reply = ServerReply{};
        return message;
    }
    message.kind = ServerMessage::Kind::reply;
    return message;
}

}  // namespace sharegate::protocol
