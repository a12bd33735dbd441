// The seed share for the tests: the one copy lives in core (sharegate/seed_share.hpp),
// since the start-up self-test needs it too.
#pragma once

#include "sharegate/seed_share.hpp"

namespace sharegate_test {
namespace seed = sharegate::seed;
}  // namespace sharegate_test
