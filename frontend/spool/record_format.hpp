// The spool's on-disk format as pure functions: the segment header, one record's bytes, and
// the decoding of a whole segment file into its good records and what became of its tail.
// A segment file is
//   header: 8-byte magic "SGSPOOL\0", u32 LE format version (1), u32 LE reserved (0)
//   records: u32 LE payload length, u32 LE CRC-32C of the payload, the payload bytes
// A file is never guessed at: a different magic or version is refused with a reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sharegate::spool {

inline constexpr std::string_view kSegmentMagic{"SGSPOOL\0", 8};
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kSegmentHeaderSize = 16;
inline constexpr std::size_t kRecordHeaderSize = 8;
// A share record is about 400 bytes; the bound keeps a garbled length from being believed.
inline constexpr std::size_t kMaxPayloadSize = 64 * 1024;

// CRC-32C (Castagnoli), as iSCSI, ext4 and most storage formats use it.
std::uint32_t crc32c(std::string_view data);

std::string encode_segment_header();
// The record's bytes. The payload must hold 1 to kMaxPayloadSize bytes (std::length_error
// otherwise): an empty payload is refused because a zero-filled tail would otherwise decode
// as a run of valid empty records.
std::string encode_record(std::string_view payload);

enum class Tail {
    none,     // the file ends exactly after its last good record
    torn,     // the last write never completed: dropping it loses nothing acknowledged
    corrupt,  // a bad record with more data after it: what follows cannot be trusted
};

struct Record {
    std::size_t offset;        // of the record's length field, from the start of the file
    std::string_view payload;  // a view into the decoded data
};

struct DecodeResult {
    std::vector<Record> records;  // the good records, in file order
    std::size_t valid_bytes = 0;  // end of the last good record (0: the header is incomplete)
    Tail tail = Tail::none;
    std::string why;  // for a torn or corrupt tail: what was found, and where
};

// A file that is not a version-1 segment: why, in one line.
struct Refusal {
    std::string why;
};

// Decodes a whole segment file. Decoding stops at the first bad record and keeps every
// record before it. The bad record is a torn tail when the file ends inside it, when its
// checksum fails and it is the last record, or when everything from it to the end of the
// file is zero bytes (a crash after the file grew but before the data reached the disk);
// otherwise it is corruption. A file shorter than its header whose bytes begin like one is
// torn with valid_bytes 0.
std::variant<DecodeResult, Refusal> decode(std::string_view file);

}  // namespace sharegate::spool
