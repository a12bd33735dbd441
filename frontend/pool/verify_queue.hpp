// Where ShareIntake sends a share to be verified: server::Batcher (batches for a verifier
// thread) or server::InlineVerifyQueue (verifies on the I/O thread that hands shares in)
// in the server, a fake in tests and the fuzz target.
#pragma once

#include <cstddef>
#include <optional>

#include "sharegate/bytes.hpp"
#include "sharegate/inline_function.hpp"
#include "sharegate/share_batch.hpp"
#include "sharegate/u256.hpp"

namespace sharegate::pool {

struct PendingShare {
    Bytes32 challenge;
    Bytes32 nonce;
    U256 digest;
    U256 target;
    // Called on the verifier thread with the verdict, or nullopt when the share was not
    // verified (the verifier failed, or the batcher had stopped); post work elsewhere.
    // Held inline: ShareIntake's continuation carries the whole request (its texts, for
    // the queued share) and the caller's answer, and a submit allocates nothing for it.
    static constexpr std::size_t kDoneCapacity = 512;
    InlineFunction<void(std::optional<Verdict>), kDoneCapacity> done;
};

class VerifyQueue {
public:
    virtual ~VerifyQueue() = default;
    // Takes the share; calls its done exactly once, later on the verifier's thread, or at
    // once on the caller's when the queue has stopped. By reference: a share carries its
    // continuation inline (hundreds of bytes), and each move copies it.
    virtual void add(PendingShare&& share) = 0;
    // Shares taken and not yet verified: what load shedding (pool/load_shedding.hpp)
    // measures. Any thread; may be a moment out of date.
    virtual std::size_t waiting() const = 0;

    // Between hold() and release(), on one thread, the caller hands in shares that may be
    // verified together when it releases (a session's shares from one read): a queue that
    // verifies on the caller's thread calls their done within release(). Nested holds are
    // one. A queue with a thread of its own ignores them.
    virtual void hold() {}
    virtual void release() {}
};

}  // namespace sharegate::pool
