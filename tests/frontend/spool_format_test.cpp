// The spool's on-disk format: checksum, round trip, and what decoding makes of a torn,
// corrupt or foreign file.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "spool/record_format.hpp"

namespace sharegate::spool {
namespace {

std::string segment_of(std::initializer_list<std::string> payloads) {
    std::string file = encode_segment_header();
    for (const std::string& payload : payloads) file += encode_record(payload);
    return file;
}

DecodeResult decoded(std::string_view file) {
    auto result = decode(file);
    EXPECT_TRUE(std::holds_alternative<DecodeResult>(result))
        << (std::holds_alternative<Refusal>(result) ? std::get<Refusal>(result).why : "");
    return std::holds_alternative<DecodeResult>(result) ? std::get<DecodeResult>(result) : DecodeResult{};
}

std::string refusal_of(std::string_view file) {
    auto result = decode(file);
    EXPECT_TRUE(std::holds_alternative<Refusal>(result));
    return std::holds_alternative<Refusal>(result) ? std::get<Refusal>(result).why : "";
}

TEST(SpoolFormat, Crc32cKnownVectors) {
    EXPECT_EQ(crc32c("123456789"), 0xE3069283U);
    EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAU);
    EXPECT_EQ(crc32c(""), 0U);
}

TEST(SpoolFormat, HeaderLayout) {
    const std::string header = encode_segment_header();
    ASSERT_EQ(header.size(), kSegmentHeaderSize);
    EXPECT_EQ(header, std::string("SGSPOOL\0\x01\0\0\0\0\0\0\0", 16));
}

TEST(SpoolFormat, RecordLayoutIsLengthChecksumPayload) {
    const std::string record = encode_record("123456789");
    ASSERT_EQ(record.size(), kRecordHeaderSize + 9);
    EXPECT_EQ(record.substr(0, 8), std::string("\x09\0\0\0\x83\x92\x06\xE3", 8));
    EXPECT_EQ(record.substr(8), "123456789");
}

TEST(SpoolFormat, RoundTrip) {
    const std::string big(kMaxPayloadSize, 'x');
    const std::string file = segment_of({"{\"nonce\":\"0x01\"}", "a", big});
    const DecodeResult result = decoded(file);
    ASSERT_EQ(result.records.size(), 3U);
    EXPECT_EQ(result.records[0].payload, "{\"nonce\":\"0x01\"}");
    EXPECT_EQ(result.records[0].offset, kSegmentHeaderSize);
    EXPECT_EQ(result.records[1].payload, "a");
    EXPECT_EQ(result.records[2].payload, big);
    EXPECT_EQ(result.valid_bytes, file.size());
    EXPECT_EQ(result.tail, Tail::none);
    EXPECT_TRUE(result.why.empty());
}

TEST(SpoolFormat, HeaderOnlyHoldsNothing) {
    const DecodeResult result = decoded(encode_segment_header());
    EXPECT_TRUE(result.records.empty());
    EXPECT_EQ(result.valid_bytes, kSegmentHeaderSize);
    EXPECT_EQ(result.tail, Tail::none);
}

TEST(SpoolFormat, EncodeRefusesEmptyAndOversizedPayloads) {
    EXPECT_THROW(encode_record(""), std::length_error);
    EXPECT_THROW(encode_record(std::string(kMaxPayloadSize + 1, 'x')), std::length_error);
}

TEST(SpoolFormat, TornAtEveryByteOfTheLastRecord) {
    const std::string file = segment_of({"first share", "second share", "third share, the torn one"});
    const std::size_t last_starts = file.size() - encode_record("third share, the torn one").size();
    for (std::size_t length = last_starts + 1; length < file.size(); ++length) {
        SCOPED_TRACE("truncated to " + std::to_string(length));
        const DecodeResult result = decoded(std::string_view(file).substr(0, length));
        ASSERT_EQ(result.records.size(), 2U);
        EXPECT_EQ(result.records[1].payload, "second share");
        EXPECT_EQ(result.valid_bytes, last_starts);
        EXPECT_EQ(result.tail, Tail::torn);
        EXPECT_NE(result.why.find("offset " + std::to_string(last_starts)), std::string::npos) << result.why;
    }
}

TEST(SpoolFormat, TornInsideTheHeader) {
    const std::string header = encode_segment_header();
    for (std::size_t length = 0; length < header.size(); ++length) {
        SCOPED_TRACE("header truncated to " + std::to_string(length));
        const DecodeResult result = decoded(header.substr(0, length));
        EXPECT_TRUE(result.records.empty());
        EXPECT_EQ(result.valid_bytes, 0U);
        EXPECT_EQ(result.tail, Tail::torn);
    }
}

TEST(SpoolFormat, ChecksumFailingInTheLastRecordIsTorn) {
    std::string file = segment_of({"first share", "second share"});
    file.back() ^= 0x01;
    const DecodeResult result = decoded(file);
    ASSERT_EQ(result.records.size(), 1U);
    EXPECT_EQ(result.records[0].payload, "first share");
    EXPECT_EQ(result.tail, Tail::torn);
    EXPECT_NE(result.why.find("checksum"), std::string::npos) << result.why;
}

TEST(SpoolFormat, ChecksumFailingInTheMiddleIsCorruption) {
    std::string file = segment_of({"first share", "second share", "third share"});
    const std::size_t second = kSegmentHeaderSize + encode_record("first share").size();
    file[second + kRecordHeaderSize] ^= 0x20;
    const DecodeResult result = decoded(file);
    ASSERT_EQ(result.records.size(), 1U);
    EXPECT_EQ(result.records[0].payload, "first share");
    EXPECT_EQ(result.valid_bytes, second);
    EXPECT_EQ(result.tail, Tail::corrupt);
    EXPECT_NE(result.why.find("checksum"), std::string::npos) << result.why;
}

TEST(SpoolFormat, AbsurdLengthInTheMiddleIsCorruption) {
    std::string file = segment_of({"first share", "second share", "third share"});
    const std::size_t second = kSegmentHeaderSize + encode_record("first share").size();
    file[second + 3] = 0x7F;  // length's high byte: far over kMaxPayloadSize
    const DecodeResult result = decoded(file);
    ASSERT_EQ(result.records.size(), 1U);
    EXPECT_EQ(result.tail, Tail::corrupt);
    EXPECT_NE(result.why.find("length"), std::string::npos) << result.why;
}

TEST(SpoolFormat, ZeroFilledTailIsTorn) {
    // A crash after the file grew but before its data reached the disk reads back as zeros.
    std::string file = segment_of({"first share"}) + std::string(300, '\0');
    const DecodeResult result = decoded(file);
    ASSERT_EQ(result.records.size(), 1U);
    EXPECT_EQ(result.valid_bytes, file.size() - 300);
    EXPECT_EQ(result.tail, Tail::torn);
}

TEST(SpoolFormat, BadMagicIsRefused) {
    std::string file = segment_of({"first share"});
    file[0] = 'X';
    EXPECT_NE(refusal_of(file).find("magic"), std::string::npos);
    EXPECT_NE(refusal_of("{\"not\":\"a spool\"}").find("magic"), std::string::npos);
    EXPECT_NE(refusal_of("SGX").find("magic"), std::string::npos);
}

TEST(SpoolFormat, OtherVersionIsRefused) {
    std::string file = segment_of({"first share"});
    file[8] = 2;
    const std::string why = refusal_of(file);
    EXPECT_NE(why.find("version 2"), std::string::npos) << why;
    EXPECT_NE(why.find("reads version 1"), std::string::npos) << why;
}

TEST(SpoolFormat, NonZeroReservedFieldIsRefused) {
    std::string file = segment_of({"first share"});
    file[12] = 1;
    EXPECT_NE(refusal_of(file).find("reserved"), std::string::npos);
}

}  // namespace
}  // namespace sharegate::spool
