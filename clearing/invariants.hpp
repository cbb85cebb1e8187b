// RULES §10 I1-I3 recomputed from scratch over a whole state (never from the engine's running
// totals), for property tests, fuzzing and `clearnode replay --verify`. O(state).
#pragma once

#include "state/store.hpp"

#include <string>

namespace clearnode {

// Empty when I1, I2 and I3 hold; otherwise the first violation found, in words.
std::string check_invariants(const StateReader& state);

}  // namespace clearnode
