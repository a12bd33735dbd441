// What the proxy's getwork calls need from the pool: a way to forward one share and hear
// its verdict. Upstream (upstream.hpp) is the real one, over the stratum connection; the
// interface keeps ProxyCalls testable without a socket.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace sharegate::proxy {

// One rig's share as the upstream's mining.submit carries it:
// params [nonce, minerAddress, digest, difficulty, challenge].
struct ShareToForward {
    std::string nonce;             // "0x" + 64 hex digits, lower case
    std::string miner;             // the rig's payout address, "0x" + lower case: the pool credits it
    std::string digest;            // "0x" + 64 hex digits, lower case
    std::uint64_t difficulty = 0;  // the difficulty the rig claims, a JSON integer on the wire
    std::string challenge;         // the current Work's challenge_text
};

enum class VerdictKind : std::uint8_t {
    accepted,       // the pool answered true
    rejected,       // the pool answered with an error (code, message)
    not_forwarded,  // no verdict from the pool (unreachable, busy, connection lost): never `true`
};

struct Verdict {
    VerdictKind kind = VerdictKind::not_forwarded;
    int code = 0;         // rejected: the pool's error code (20..25); 0 otherwise
    std::string message;  // rejected: the pool's error message; not_forwarded: why, for logs
};

class ShareForwarder {
public:
    virtual ~ShareForwarder() = default;
    // Forwards `share`; `done` is called exactly once with its verdict, from this thread
    // (a refusal without sending) or another one (the pool's reply). Thread-safe.
    virtual void submit(ShareToForward share, std::function<void(Verdict)> done) = 0;
};

}  // namespace sharegate::proxy
