// Where ShareIntake stores an accepted share for the pool's back-end: Redis's
// queued_shares_list in the server (server/durable_share_store.hpp), a fake in tests.
#pragma once

#include <cstddef>
#include <string>

#include "sharegate/inline_function.hpp"

namespace sharegate::pool {

// What became of a push.
enum class StoreResult {
    stored,      // the back-end has it (or a spool holds it for the back-end)
    duplicate,   // another instance of the pool (or an earlier push) had claimed the share: not stored again
    not_stored,  // it never will be
};

// What a push calls with its outcome. Held inline rather than in an allocation of its
// own: ShareIntake's (the miner's answer, with the share's challenge and nonce) is 200
// bytes, and the store keeps it inside its own record of the share.
inline constexpr std::size_t kStoreDoneCapacity = 208;
using StoreDone = InlineFunction<void(StoreResult), kStoreDoneCapacity>;

class ShareStore {
public:
    virtual ~ShareStore() = default;
    // Stores one share's queued_shares_list line (protocol::queued_share_json) unless the
    // share is claimed already, pool-wide. done is called exactly once, on any thread.
    // `key` names the share (share_key: its challenge and nonce): a store shared by many
    // instances, or that may deliver a share twice (a retry, a replay), uses it to deliver
    // it once.
    virtual void push(std::string key, std::string queued_share_json, StoreDone done) = 0;
};

}  // namespace sharegate::pool
