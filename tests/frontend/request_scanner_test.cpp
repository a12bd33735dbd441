// The two ways a stratum line is read (frontend/protocol/request_fields.hpp): the flat
// scanner must accept the forms miners send, refuse everything outside its subset of
// JSON, and, whenever it accepts, give exactly the fields simdjson's DOM gives. The
// rules' answers themselves are tested in protocol_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/dom_request_scanner.hpp"
#include "protocol/flat_request_scanner.hpp"
#include "support/seed_share.hpp"

namespace sharegate_test {
namespace {

using sharegate::protocol::JsonValue;
using sharegate::protocol::RequestFields;
using sharegate::protocol::scan_dom_request;
using sharegate::protocol::scan_flat_request;
using Type = JsonValue::Type;

std::string quoted(const char* text) { return std::string("\"") + text + "\""; }

const std::string kSubmitParams = "[" + quoted(seed::kNonce) + "," + quoted(seed::kMiner) + "," +
                                  quoted(seed::kDigest) + ",872," + quoted(seed::kChallenge) + "]";

// What miners and our own clients send, and the variations JSON allows them.
std::vector<std::string> miner_lines() {
    return {
        R"({"id":4,"method":"mining.submit","params":)" + kSubmitParams + "}",
        // MVis-tokenminer 2.1.18 and later add a JSON-RPC version.
        R"({"id":4,"jsonrpc":"2.0","method":"mining.submit","params":)" + kSubmitParams + "}",
        R"({ "params" : )" + kSubmitParams + R"( , "method" : "mining.submit" , "id" : 4 })" + "\r",
        "\t{\"id\":\"a-string-id\",\"method\":\"mining.submit\",\"params\":" + kSubmitParams + "}  ",
        R"({"id":1,"method":"mining.subscribe","params":[)" + quoted(seed::kMiner) + "]}",
        R"({"id":1,"method":"mining.subscribe","params":[)" + quoted(seed::kMiner) + R"(,"MVis-tokenminer/2.3.0"]})",
        R"({"id":-17,"method":"mining.submit","params":["0x1",null,true,false,"1024",0,-5,123456789012345678]})",
        R"({"id":null,"method":"mining.authorize","params":[],"worker":"rig1"})",
        R"({})",
        R"({"id":4,"id":5,"method":"mining.submit","method":"x","params":[1,2],"params":[3]})",
    };
}

RequestFields dom_fields(const std::string& line) {
    RequestFields fields;
    EXPECT_TRUE(scan_dom_request(line, fields)) << line;
    return fields;
}

TEST(FlatRequestScanner, AcceptsWhatMinersSendWithTheFieldsSimdjsonGives) {
    for (const std::string& line : miner_lines()) {
        RequestFields flat;
        ASSERT_TRUE(scan_flat_request(line, flat)) << line;
        EXPECT_EQ(flat, dom_fields(line)) << line;
    }
}

TEST(FlatRequestScanner, ReadsTheFieldsOfASubmit) {
    // The fields point into the line: it must outlive them.
    const std::string line = R"({"id":4,"jsonrpc":"2.0","method":"mining.submit","params":)" + kSubmitParams + "}";
    RequestFields fields;
    ASSERT_TRUE(scan_flat_request(line, fields));
    EXPECT_TRUE(fields.is_object);
    EXPECT_EQ(fields.id.type, Type::int64);
    EXPECT_EQ(fields.id.int64, 4);
    EXPECT_EQ(fields.method.type, Type::string);
    EXPECT_EQ(fields.method.text, "mining.submit");
    EXPECT_EQ(fields.params.type, Type::array);
    ASSERT_EQ(fields.item_count, 5u);
    EXPECT_EQ(fields.items[0].text, seed::kNonce);
    EXPECT_EQ(fields.items[1].text, seed::kMiner);
    EXPECT_EQ(fields.items[2].text, seed::kDigest);
    EXPECT_EQ(fields.items[3].type, Type::int64);
    EXPECT_EQ(fields.items[3].int64, 872);
    EXPECT_EQ(fields.items[4].text, seed::kChallenge);
}

TEST(FlatRequestScanner, TheFirstMemberOfANameCounts) {
    RequestFields fields;
    ASSERT_TRUE(scan_flat_request(R"({"id":4,"id":5,"method":"a","method":"b","params":[1,2],"params":[3]})", fields));
    EXPECT_EQ(fields.id.int64, 4);
    EXPECT_EQ(fields.method.text, "a");
    ASSERT_EQ(fields.item_count, 2u);
    EXPECT_EQ(fields.items[1].int64, 2);
}

TEST(FlatRequestScanner, KeepsOnlyTheItemsTheRulesRead) {
    RequestFields fields;
    ASSERT_TRUE(scan_flat_request(R"({"params":[1,2,3,4,5,6,7]})", fields));
    EXPECT_EQ(fields.item_count, 5u);
    EXPECT_EQ(fields.items[4].int64, 5);
}

// Outside the flat subset: each of these is simdjson's to judge (valid JSON or not).
TEST(FlatRequestScanner, LeavesEverythingElseToSimdjson) {
    const std::vector<std::string> lines = {
        "",
        "   ",
        "[1,2]",
        "4",
        R"("mining.submit")",
        R"({"id":4,"method":"mining.submit","params":[[1],2]})",
        R"({"id":4,"method":"mining.submit","params":[{"a":1}]})",
        R"({"id":{"a":1},"method":"mining.submit"})",
        R"({"id":"a\"b","method":"mining.submit"})",
        R"({"id":"\u0041","method":"mining.submit"})",
        "{\"id\":\"caf\xc3\xa9\",\"method\":\"mining.submit\"}",
        "{\"id\":\"\xff\",\"method\":\"mining.submit\"}",
        "{\"id\":\"a\tb\",\"method\":\"mining.submit\"}",
        R"({"id":-0,"method":"mining.submit"})",
        R"({"id":1.5,"method":"mining.submit"})",
        R"({"id":1e3,"method":"mining.submit"})",
        R"({"id":1E3,"method":"mining.submit"})",
        R"({"id":01,"method":"mining.submit"})",
        R"({"id":1234567890123456789,"method":"mining.submit"})",
        R"({"id":-1234567890123456789,"method":"mining.submit"})",
        R"({"id":18446744073709551616,"method":"mining.submit"})",
        R"({"id":-,"method":"mining.submit"})",
        R"({"id":+1,"method":"mining.submit"})",
        R"({"id":4,"method":"mining.submit"} x)",
        R"({"id":4,"method":"mining.submit"}})",
        R"({"id":4,"method":"mining.submit")",
        R"({"id":4,"method":"mining.submit",})",
        R"({"id":4,,"method":"mining.submit"})",
        R"({"id" 4})",
        R"({id:4})",
        R"({"id":tru})",
        R"({"id":truex})",
        R"({"id":nul})",
        R"({"id":"unterminated})",
        R"({"params":[1,]})",
        R"({"params":[1 2]})",
        R"({"params":[)",
        "{\"id\":4}\v",
        std::string("{\"id\":4}\0", 9),
    };
    for (const std::string& line : lines) {
        RequestFields fields;
        EXPECT_FALSE(scan_flat_request(line, fields)) << line;
    }
}

// Every line one edit away from what miners send: wherever the flat scanner accepts, the
// line is JSON and simdjson reads the same fields from it. Both outcomes must occur, or
// the edits did not probe the boundary.
TEST(FlatRequestScanner, AgreesWithSimdjsonOneEditAwayFromEveryMinerLine) {
    std::string replacements = "\"\\,:[]{} \t0129-.eEtfnulx\x01\x7f\x80\xc3";
    replacements.push_back('\0');
    std::size_t accepted = 0;
    std::size_t refused = 0;
    auto check = [&](const std::string& line) {
        RequestFields flat;
        if (!scan_flat_request(line, flat)) {
            ++refused;
            return;
        }
        ++accepted;
        RequestFields dom;
        ASSERT_TRUE(scan_dom_request(line, dom)) << "flat accepted what simdjson refuses: " << line;
        ASSERT_EQ(flat, dom) << line;
    };
    for (const std::string& seed_line : miner_lines()) {
        for (std::size_t at = 0; at <= seed_line.size(); ++at) {
            if (at < seed_line.size()) check(seed_line.substr(0, at) + seed_line.substr(at + 1));  // deleted
            for (const char c : replacements) {
                check(seed_line.substr(0, at) + c + seed_line.substr(at));  // inserted
                if (at < seed_line.size()) {
                    std::string replaced = seed_line;
                    replaced[at] = c;
                    check(replaced);
                }
            }
        }
    }
    EXPECT_GT(accepted, 1000u);
    EXPECT_GT(refused, 1000u);
}

}  // namespace
}  // namespace sharegate_test
