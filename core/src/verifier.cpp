#include "sharegate/verifier.hpp"

namespace sharegate {

std::string_view to_string(Refusal refusal) {
    switch (refusal) {
        case Refusal::none: return "none";
        case Refusal::unavailable: return "unavailable";
        case Refusal::failed: return "failed";
        case Refusal::unknown: return "unknown";
    }
    return "?";
}

}  // namespace sharegate
