// Everything the node prints: block lines, receipts and query answers, as JSON with amounts
// in decimal strings. The JSON lives here, never in clearing/; an event value's own text (hex,
// decimal) is clearing's (EventValue::text), so that receipts and tests read the same form.
#pragma once

#include "clearing/engine.hpp"
#include "ledger/json.hpp"

namespace clearnode::cli {

Json block_line(const BlockResult& result);
// One receipt's JSON line (no newline): {"height","index","tx_hash","status","events":[{"type",
// then the event's fields in order}]}, written straight into text rather than built as a
// document, since the node writes one per transaction on the thread that applies.
std::string receipt_line(uint64_t height, const Receipt& receipt);
// Every receipt of a block, a line each, each ending in a newline.
std::string receipt_lines(const BlockResult& result);

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
