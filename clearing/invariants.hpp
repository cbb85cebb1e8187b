// RULES §10 I1-I3 recomputed from scratch over a whole state (never from the engine's running
// totals), and I5 for a rejected transaction, for property tests, fuzzing and
// `clearnode replay --verify`. O(state).
#pragma once

#include "clearing/receipt.hpp"
#include "ledger/tx.hpp"
#include "state/store.hpp"

#include <map>
#include <string>

namespace clearnode {

// Empty when I1, I2 and I3 hold; otherwise the first violation found, in words.
std::string check_invariants(const StateReader& state);

// Every state entry but the block bookkeeping ("chain" and the "~" keys).
using StateSnapshot = std::map<std::string, std::string, std::less<>>;
StateSnapshot state_snapshot(const StateReader& state);

// I5: empty when `after` is `before` but, for a rejection that spends the nonce
// (spends_nonce), the signer's nonce window (which must then hold `tx.nonce`); otherwise
// what changed.
std::string check_rejection(const StateSnapshot& before, const StateSnapshot& after, const Tx& tx, Reason status);

}  // namespace clearnode
