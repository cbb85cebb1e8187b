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
// `query liquidatable`: one line per liquidatable scope (liquidation.hpp's order).
std::vector<Json> liquidatable_json(const Engine& engine);
// `query adl-queue MARKET SIDE`: the ranked positions of `side` ("long" or "short"), the
// counterparties of a bankrupt position on the other side; nullopt for an unknown market.
std::optional<std::vector<Json>> adl_queue_json(const Engine& engine, const std::string& market, int side);

}  // namespace clearnode::cli
