// Everything the node prints: block lines, receipts and query answers, as JSON with amounts
// in decimal strings. Formatting lives here, never in clearing/.
#pragma once

#include "clearing/engine.hpp"
#include "ledger/json.hpp"

namespace clearnode::cli {

Json block_line(const BlockResult& result);
Json receipt_line(uint64_t height, const Receipt& receipt);
Json event_json(const Event& event);

// `query account`: nullopt when the account does not exist.
std::optional<Json> account_json(const Engine& engine, const AccountId& id);
// `query state`.
Json state_json(const Engine& engine);

}  // namespace clearnode::cli
