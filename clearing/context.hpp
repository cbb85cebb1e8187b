// What a rule function sees while it applies one transaction: the transaction's own writes
// over the block so far, the chain's fixed configuration, the block time and the receipt's
// event list. Rule functions return a Reason; a rejection's writes are dropped by the engine.
#pragma once

#include "clearing/receipt.hpp"
#include "state/record_layers.hpp"

namespace clearnode {

struct TxContext {
    RecordLayer& view;
    const ConfigRecord& config;
    int64_t block_time_ms;
    const AccountId& signer;
    std::vector<Event>& events;
};

// Parses decimal text into units for a rule: a syntax the decoder let through cannot occur,
// so the failures are `bad_amount` (too many decimals) and `overflow` (beyond int64).
struct UnitsOrReason {
    int64_t value = 0;
    Reason reason = Reason::ok;
};
UnitsOrReason units_for_rule(std::string_view text, int scale);

}  // namespace clearnode
