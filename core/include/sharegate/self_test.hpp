// The known answers every backend must reproduce before it is handed out.
#pragma once

#include <vector>

#include "sharegate/share_batch.hpp"

namespace sharegate {

struct KnownAnswerBatch {
    ShareBatch batch;
    std::vector<Verdict> expected;
};

// Real shares (the seed's and mined ones) plus derived cases: corrupted digests,
// digests equal to and one either side of their target, difficulty 1 and 2^64-1,
// and a ragged size so that SIMD tails are exercised.
KnownAnswerBatch known_answer_batch();

}  // namespace sharegate
