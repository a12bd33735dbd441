// Running sharegate-loadgen from a test and reading the flat JSON line it prints with
// --json: the load generator's own tests and the server's memory test share this.
#pragma once

#include <sys/wait.h>

#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace sharegate_test {

// The value of `key` in the object `json` (not in objects nested in it), as its raw text.
inline std::optional<std::string> member(const std::string& json, const std::string& key) {
    const std::string pat = "\"" + key + "\":";
    int depth = 0;
    for (std::size_t i = 0; i < json.size(); ++i) {
        char c = json[i];
        if (c == '{' || c == '[') ++depth;
        if (c == '}' || c == ']') --depth;
        if (depth != 1 || json.compare(i, pat.size(), pat) != 0) continue;
        std::size_t start = i + pat.size(), end = start;
        int inner = 0;
        for (; end < json.size(); ++end) {
            char d = json[end];
            if (d == '{' || d == '[') ++inner;
            if (d == '}' || d == ']') {
                if (inner == 0) break;
                if (--inner == 0) {
                    ++end;
                    break;
                }
            }
            if (d == ',' && inner == 0) break;
        }
        return json.substr(start, end - start);
    }
    return std::nullopt;
}

// A whole number member; -1 when absent or not a number (which no count is).
inline long long number(const std::string& json, const std::string& key) {
    auto text = member(json, key);
    long long v = -1;
    if (!text || std::from_chars(text->data(), text->data() + text->size(), v).ptr != text->data() + text->size())
        return -1;
    return v;
}

// rejected_by_code[code], 0 when the code never came up.
inline long long rejected(const std::string& json, int code) {
    auto codes = member(json, "rejected_by_code");
    if (!codes) return -1;
    auto v = member(*codes, std::to_string(code));
    return v ? number(*codes, std::to_string(code)) : 0;
}

inline long long by_kind(const std::string& json, const std::string& kind, const std::string& field) {
    auto kinds = member(json, "by_kind");
    if (!kinds) return -1;
    auto k = member(*kinds, kind);
    return k ? number(*k, field) : -1;
}

struct ProcessResult {
    int status = -1;
    std::string out;  // stdout, or stdout and stderr together
};

inline std::string quoted(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'')
            q += "'\\''";
        else
            q += c;
    }
    q += '\'';
    return q;
}

// Runs `binary` with `args` through the shell and collects its stdout (and stderr with
// with_stderr); status is its exit status, or 128 + the signal that ended it.
inline ProcessResult run_process(const std::string& binary, const std::vector<std::string>& args,
                                 bool with_stderr = false) {
    std::string cmd = quoted(binary);
    // Appended in steps: GCC 12's -Wrestrict misfires on `" " + std::string&&` at -O2.
    for (const auto& a : args) {
        cmd += ' ';
        cmd += quoted(a);
    }
    cmd += with_stderr ? " 2>&1" : " 2>/dev/null";
    ProcessResult r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int status = ::pclose(p);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

}  // namespace sharegate_test
