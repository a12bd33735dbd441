// A stratum submit line's parsing alone, by each way the server can read it
// (frontend/protocol/request_fields.hpp): simdjson's DOM, the flat scanner, and the whole
// StratumParser::parse (the flat scanner, then the rules: hex, address, id), and that
// parse again for the same lines with one more member, "worker":"r\u00e9" in UTF-8,
// which the flat scanner leaves to simdjson: the parse as it was before the flat scanner
// (simdjson, then the same rules). Its share of
// a flood submit is below bench/run-cpu.sh's run-to-run noise on a shared VM; this
// isolates it. The lines are the load generator's submits with a fresh nonce each.
//
//   build/bench/bench/sharegate-bench-parse [LINES_A_ROUND]
//
// Prints each of five rounds' ns per line for each way, then their medians.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/dom_request_scanner.hpp"
#include "protocol/flat_request_scanner.hpp"
#include "protocol/stratum.hpp"
#include "protocol/stratum_client.hpp"
#include "sharegate/bytes.hpp"
#include "sharegate/seed_share.hpp"

namespace {

using namespace sharegate;

// 1 024 distinct lines, cycled: varied enough that no branch learns one line, small
// enough to stay in the cache, as a connection's read does.
std::vector<std::string> submit_lines(std::string_view extra_member = {}) {
    std::vector<std::string> lines;
    Bytes32 nonce = *parse_hex32(seed::kNonce);
    for (int i = 0; i < 1024; ++i) {
        nonce[31] = static_cast<std::uint8_t>(i);
        nonce[30] = static_cast<std::uint8_t>(i >> 8);
        std::string line = protocol::submit_request(static_cast<std::uint64_t>(i) + 5, to_hex(nonce), seed::kMiner,
                                                    seed::kDigest, std::uint64_t{872}, seed::kChallenge);
        line.pop_back();  // the framer hands the server lines without their '\n'
        if (!extra_member.empty()) line.insert(1, extra_member);
        lines.push_back(std::move(line));
    }
    return lines;
}

template <typename Read>
double ns_per_line(const std::vector<std::string>& lines, long count, Read read) {
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < count; ++i) read(lines[static_cast<std::size_t>(i) & 1023]);
    const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
    return took.count() / static_cast<double>(count);
}

}  // namespace

int main(int argc, char** argv) {
    const long count = argc > 1 ? std::atol(argv[1]) : 2000000;
    if (count <= 0) {
        std::fprintf(stderr, "usage: sharegate-bench-parse [LINES_A_ROUND]\n");
        return 2;
    }
    const std::vector<std::string> lines = submit_lines();
    const std::vector<std::string> utf8_lines = submit_lines("\"worker\":\"r\xc3\xa9\",");
    protocol::StratumParser parser;
    long failures = 0;
    // Each line into fresh fields, as StratumParser::parse does.
    auto dom = [&](const std::string& line) {
        protocol::RequestFields fields;
        failures += !protocol::scan_dom_request(line, fields);
    };
    auto flat = [&](const std::string& line) {
        protocol::RequestFields fields;
        failures += !protocol::scan_flat_request(line, fields);
    };
    auto whole = [&](const std::string& line) {
        failures += parser.parse(line).kind != protocol::Request::Kind::submit;
    };
    std::vector<double> dom_ns, flat_ns, whole_ns, whole_dom_ns;
    for (int round = 0; round < 5; ++round) {
        dom_ns.push_back(ns_per_line(lines, count, dom));
        flat_ns.push_back(ns_per_line(lines, count, flat));
        whole_ns.push_back(ns_per_line(lines, count, whole));
        whole_dom_ns.push_back(ns_per_line(utf8_lines, count, whole));
        std::printf(
            "round %d: simdjson DOM %.1f ns, flat scanner %.1f ns, StratumParser::parse %.1f ns, "
            "with simdjson %.1f ns a line\n",
            round + 1, dom_ns.back(), flat_ns.back(), whole_ns.back(), whole_dom_ns.back());
    }
    if (failures != 0) {
        std::fprintf(stderr, "%ld lines were not read as submits\n", failures);
        return 1;
    }
    for (auto* ns : {&dom_ns, &flat_ns, &whole_ns, &whole_dom_ns}) std::sort(ns->begin(), ns->end());
    std::printf(
        "median: simdjson DOM %.1f ns, flat scanner %.1f ns, StratumParser::parse %.1f ns, with simdjson "
        "%.1f ns a line (%zu bytes)\n",
        dom_ns[2], flat_ns[2], whole_ns[2], whole_dom_ns[2], lines[0].size());
}
