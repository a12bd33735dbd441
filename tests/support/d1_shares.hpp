// The 200 real difficulty-1 shares of tests/vectors/valid_d1.jsonl (miner
// 0x…d1, the seed challenge and pool), for the end-to-end tests. The including target
// defines SHAREGATE_VECTORS_DIR.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#ifndef SHAREGATE_VECTORS_DIR
#error "SHAREGATE_VECTORS_DIR must name tests/vectors"
#endif

namespace sharegate_test {

struct VectorShare {
    std::string nonce, digest;
};

// The string value of `"name":"…"` in one line of the vectors (they hold no escapes).
inline std::string vector_field(const std::string& json_line, const std::string& name) {
    auto key = "\"" + name + "\":\"";
    auto at = json_line.find(key);
    if (at == std::string::npos) return {};
    at += key.size();
    return json_line.substr(at, json_line.find('"', at) - at);
}

inline std::vector<VectorShare> load_d1() {
    std::ifstream in(std::string(SHAREGATE_VECTORS_DIR) + "/valid_d1.jsonl");
    std::vector<VectorShare> out;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        out.push_back({vector_field(line, "nonce"), vector_field(line, "digest")});
    }
    return out;
}

}  // namespace sharegate_test
