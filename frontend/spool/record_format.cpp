#include "spool/record_format.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace sharegate::spool {
namespace {

// Table for the reflected (LSB-first) form of the Castagnoli polynomial 0x1EDC6F41,
// which reads 0x82F63B78 reflected.
constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t crc = i;
        for (int bit = 0; bit < 8; ++bit) crc = (crc & 1U) ? (crc >> 1) ^ 0x82F63B78U : crc >> 1;
        table[i] = crc;
    }
    return table;
}

constexpr std::array<std::uint32_t, 256> kCrc32cTable = make_crc32c_table();

void put_u32_le(std::string& out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFU));
}

std::uint32_t get_u32_le(std::string_view data, std::size_t at) {
    std::uint32_t value = 0;
    for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(data[at + i]);
    return value;
}

bool all_zero(std::string_view data) {
    return std::all_of(data.begin(), data.end(), [](char c) { return c == 0; });
}

}  // namespace

std::uint32_t crc32c(std::string_view data) {
    std::uint32_t crc = 0xFFFFFFFFU;
    for (char c : data) crc = kCrc32cTable[(crc ^ static_cast<unsigned char>(c)) & 0xFFU] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFU;
}

std::string encode_segment_header() {
    std::string header(kSegmentMagic);
    put_u32_le(header, kFormatVersion);
    put_u32_le(header, 0);
    return header;
}

std::string encode_record(std::string_view payload) {
    if (payload.empty() || payload.size() > kMaxPayloadSize)
        throw std::length_error("spool record payload of " + std::to_string(payload.size()) + " bytes (1 to " +
                                std::to_string(kMaxPayloadSize) + " allowed)");
    std::string record;
    record.reserve(kRecordHeaderSize + payload.size());
    put_u32_le(record, static_cast<std::uint32_t>(payload.size()));
    put_u32_le(record, crc32c(payload));
    record.append(payload);
    return record;
}

std::variant<DecodeResult, Refusal> decode(std::string_view file) {
    DecodeResult result;
    const std::string_view magic_seen = file.substr(0, std::min(file.size(), kSegmentMagic.size()));
    if (magic_seen != kSegmentMagic.substr(0, magic_seen.size()))
        return Refusal{"not a sharegate spool segment (bad magic)"};
    if (file.size() < kSegmentHeaderSize) {
        result.tail = Tail::torn;
        result.why = "the file ends inside its " + std::to_string(kSegmentHeaderSize) + "-byte header (" +
                     std::to_string(file.size()) + " bytes)";
        return result;
    }
    const std::uint32_t version = get_u32_le(file, 8);
    if (version != kFormatVersion)
        return Refusal{"spool format version " + std::to_string(version) + ", this build reads version " +
                       std::to_string(kFormatVersion)};
    if (get_u32_le(file, 12) != 0) return Refusal{"reserved header field is not 0 (not written by this format)"};

    std::size_t at = kSegmentHeaderSize;
    const auto stop = [&](std::string problem, bool last_record) {
        result.valid_bytes = at;
        const std::string_view rest = file.substr(at);
        if (last_record || all_zero(rest)) {
            result.tail = Tail::torn;
            result.why = "record at offset " + std::to_string(at) + ": " + problem;
        } else {
            result.tail = Tail::corrupt;
            result.why = "record at offset " + std::to_string(at) + ": " + problem + ", followed by " +
                         std::to_string(rest.size()) + " more bytes";
        }
        return result;
    };
    while (at < file.size()) {
        const std::size_t left = file.size() - at;
        if (left < kRecordHeaderSize) return stop("the file ends inside the record header", true);
        const std::uint32_t length = get_u32_le(file, at);
        const std::uint32_t checksum = get_u32_le(file, at + 4);
        if (length == 0 || length > kMaxPayloadSize)
            return stop("length " + std::to_string(length) + " out of range", false);
        if (left - kRecordHeaderSize < length) return stop("the file ends inside the payload", true);
        const std::string_view payload = file.substr(at + kRecordHeaderSize, length);
        if (crc32c(payload) != checksum)
            return stop("checksum mismatch", at + kRecordHeaderSize + length == file.size());
        result.records.push_back(Record{at, payload});
        at += kRecordHeaderSize + length;
    }
    result.valid_bytes = at;
    return result;
}

}  // namespace sharegate::spool
