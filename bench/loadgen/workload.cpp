#include "workload.hpp"

#include <fstream>

#include "util.hpp"

namespace sharegate::loadgen {

namespace {

std::string json_field(std::string_view line, std::string_view key) {
    std::string pat = "\"";
    pat += key;
    pat += "\":\"";
    auto p = line.find(pat);
    if (p == std::string_view::npos) return {};
    p += pat.size();
    auto e = line.find('"', p);
    return e == std::string_view::npos ? std::string{} : std::string(line.substr(p, e - p));
}

}  // namespace

bool reply_matches(Expect e, const protocol::ServerReply& reply) {
    switch (e) {
        case Expect::accepted: return reply.accepted();
        case Expect::invalid_digest: return reply.is_error(20, "Invalid digest");
        case Expect::stale: return reply.is_error(21, "Wrong challenge number");
        case Expect::duplicate: return reply.is_error(22, "Duplicate share");
        case Expect::target_not_met: return reply.is_error(23, "Target not met");
        case Expect::bad_params: return reply.is_error(20, "Invalid share parameters");
        case Expect::unknown_method: return reply.is_error(20, "Unknown stratum method");
        case Expect::close: return false;
    }
    return false;
}

std::vector<Share> load_corpus(const std::string& path) {
    std::vector<Share> out;
    std::ifstream in(path);
    if (!in) throw UsageError("--corpus: cannot read " + path);
    std::string line;
    while (std::getline(in, line)) {
        Share s{json_field(line, "nonce"), json_field(line, "digest"), json_field(line, "challenge")};
        if (s.nonce.size() == 66 && s.digest.size() == 66 && s.challenge.size() == 66) out.push_back(std::move(s));
    }
    return out;
}

}  // namespace sharegate::loadgen
