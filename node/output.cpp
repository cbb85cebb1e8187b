#include "node/output.hpp"

#include "ledger/units.hpp"

namespace clearnode::cli {

namespace {
std::string usd(int64_t v) { return format_units(v, usd_decimals); }
}  // namespace

Json block_line(const BlockResult& r) {
    return Json{{"height", r.header.height},         {"block_hash", to_hex(r.block_hash)},
                {"state_root", to_hex(r.state_root)}, {"txs", r.receipts.size()},
                {"ok", r.ok_count()},                 {"rejected", r.rejected_count()}};
}

Json event_json(const Event& event) {
    Json j{{"type", event.kind}};
    for (const auto& [name, value] : event.fields) j[name] = value;
    return j;
}

Json receipt_line(uint64_t height, const Receipt& receipt) {
    Json events = Json::array();
    for (const auto& e : receipt.events) events.push_back(event_json(e));
    return Json{{"height", height},
                {"index", receipt.index},
                {"tx_hash", to_hex(receipt.tx_hash)},
                {"status", reason_name(receipt.status)},
                {"events", std::move(events)}};
}

std::optional<Json> account_json(const Engine& engine, const AccountId& id) {
    const auto account = load_account(engine.state(), id);
    if (!account) return std::nullopt;
    Json positions = Json::array();
    for (const auto& p : account->markets) {
        const auto market = load_market(engine.state(), p.market);
        const int decimals = market ? market->size_decimals : 0;
        positions.push_back(Json{{"market", p.market},
                                 {"size", format_units(p.size_lots, decimals)},
                                 {"cost", usd(p.cost_usd)},
                                 {"mode", mode_name(p.mode)},
                                 {"leverage", p.leverage},
                                 {"isolated_margin", usd(p.isolated_margin_usd)}});
    }
    return Json{{"account", to_hex(id)}, {"collateral", usd(account->collateral_usd)}, {"positions", std::move(positions)}};
}

Json state_json(const Engine& engine) {
    const ProtocolRecord protocol = load_protocol(engine.state());
    Json markets = Json::array();
    for (const auto& m : load_markets(engine.state())) {
        markets.push_back(Json{{"symbol", m.symbol},
                               {"size_decimals", m.size_decimals},
                               {"mark", usd(m.mark_price)},
                               {"open_interest", format_units(m.open_interest_lots, m.size_decimals)},
                               {"funding_pool", usd(m.funding_pool_usd)}});
    }
    return Json{{"height", engine.height()},
                {"state_root", to_hex(engine.state_root())},
                {"time_ms", engine.time_ms()},
                {"insurance_fund", usd(protocol.insurance_fund_usd)},
                {"fee_pool", usd(protocol.fee_pool_usd)},
                {"markets", std::move(markets)}};
}

}  // namespace clearnode::cli
