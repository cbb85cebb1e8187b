#include "node/output.hpp"

#include "clearing/adl.hpp"
#include "clearing/liquidation.hpp"
#include "clearing/margin.hpp"
#include "ledger/units.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>

namespace clearnode::cli {

namespace {
std::string usd(int64_t v) { return format_units(v, usd_decimals); }
}  // namespace

Json block_line(const BlockResult& r) {
    return Json{{"height", r.header.height},         {"block_hash", to_hex(r.block_hash)},
                {"state_root", to_hex(r.state_root)}, {"txs", r.receipts.size()},
                {"ok", r.ok_count()},                 {"rejected", r.rejected_count()}};
}

namespace {

// Appends `text` as a JSON string. Text that needs no escaping (the engine's words, market
// symbols, numbers, hex) goes between quotes as it is; anything else through the JSON library,
// so that its escaping and its UTF-8 checks stay the only ones.
void append_json_string(std::string& out, std::string_view text) {
    const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x20 && byte < 0x80 && c != '"' && c != '\\';
    });
    if (!plain) {
        out += Json(std::string(text)).dump();
        return;
    }
    out += '"';
    out += text;
    out += '"';
}

void append_json_key(std::string& out, std::string_view key) {
    append_json_string(out, key);
    out += ':';
}

void append_json_number(std::string& out, uint64_t value) {
    std::array<char, 20> digits{};
    const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
    out.append(digits.data(), end);
}

// {"type":KIND,NAME:VALUE,...}. A name appears once in an event (a document would keep the
// last value of a repeated one at the first one's place).
void append_event(std::string& out, const Event& event) {
    out += '{';
    append_json_key(out, "type");
    append_json_string(out, event.kind);
    for (const auto& [name, value] : event.fields) {
        assert(name != "type");
        assert(std::count_if(event.fields.begin(), event.fields.end(), [&](const auto& f) { return f.first == name; }) == 1);
        out += ',';
        append_json_key(out, name);
        if (const std::string* text = value.as_text()) {
            append_json_string(out, *text);
            continue;
        }
        out += '"';  // hex and decimal strings need no escaping
        value.append_text(out);
        out += '"';
    }
    out += '}';
}

}  // namespace

std::string receipt_line(uint64_t height, const Receipt& receipt) {
    std::string out;
    out.reserve(160 + 160 * receipt.events.size());  // a hint: an id's hex is 64 bytes
    out += '{';
    append_json_key(out, "height");
    append_json_number(out, height);
    out += ',';
    append_json_key(out, "index");
    append_json_number(out, receipt.index);
    out += ',';
    append_json_key(out, "tx_hash");
    out += '"';
    append_hex(out, receipt.tx_hash);
    out += '"';
    out += ',';
    append_json_key(out, "status");
    append_json_string(out, reason_name(receipt.status));
    out += ',';
    append_json_key(out, "events");
    out += '[';
    for (size_t i = 0; i < receipt.events.size(); ++i) {
        if (i != 0) out += ',';
        append_event(out, receipt.events[i]);
    }
    out += "]}";
    return out;
}

std::string receipt_lines(const BlockResult& result) {
    std::string out;
    // A hint, so that a block's megabytes are not regrown by doubling: 466 bytes a receipt on
    // average for an open's and a transfer's (the loop in docs/DESIGN.md).
    constexpr size_t receipt_bytes_expected = 512;
    out.reserve(result.receipts.size() * receipt_bytes_expected);
    for (const auto& receipt : result.receipts) {
        out += receipt_line(result.header.height, receipt);
        out += '\n';
    }
    return out;
}

namespace {

// Entry price = cost / size, in usd per whole base unit, rounded down (display only).
std::string entry_price(const MarketPosition& p, int32_t decimals) {
    if (p.size_lots == 0) return "0";
    const Wide size = abs_wide(p.size_lots);
    const Wide cost = abs_wide(p.cost_usd);
    return usd(narrow(div_floor(cost * pow10(decimals), size)));
}

Json position_json(const AccountRecord& account, const MarketPosition& p, const MarketBook& book, const Params& params) {
    const MarketRecord& market = book.at(p.market);
    const int32_t d = market.size_decimals;
    const PositionMargin f = position_margin(p, market, params);
    const auto liq = liquidation_price(account, p, book, params);
    return Json{{"market", p.market},
                {"size", format_units(p.size_lots, d)},
                {"entry_price", entry_price(p, d)},
                {"cost", usd(p.cost_usd)},
                {"mode", mode_name(p.mode)},
                {"leverage", leverage_setting(p.leverage, market.tiers, params)},
                {"isolated_margin", usd(p.isolated_margin_usd)},
                {"upnl", usd(f.upnl_usd)},
                {"funding_owed", usd(f.funding_owed_usd)},
                {"notional", usd(f.notional_usd)},
                {"initial_margin", usd(f.initial_margin_usd)},
                {"maintenance_margin", usd(f.maintenance_margin_usd)},
                {"liquidation_price", liq ? Json(usd(*liq)) : Json(nullptr)}};
}

}  // namespace

std::optional<Json> account_json(const Engine& engine, const AccountId& id) {
    const auto account = load_account(engine.state(), id);
    if (!account) return std::nullopt;
    const Params& params = engine.config().params;
    Json j{{"account", to_hex(id)}, {"collateral", usd(account->collateral_usd)}};
    try {
        const MarketBook book = load_book(engine.records(), *account);
        const AccountMargin cross = account_margin(*account, book, params);
        const int64_t withdrawable = holds_positions(*account) ? cross.value_usd - cross.transfer_requirement_usd
                                                               : account->collateral_usd;
        j["account_value"] = usd(cross.value_usd);
        j["initial_margin"] = usd(cross.initial_margin_usd);
        j["maintenance_margin"] = usd(cross.maintenance_margin_usd);
        j["transfer_requirement"] = usd(cross.transfer_requirement_usd);
        j["withdrawable"] = usd(std::max<int64_t>(withdrawable, 0));
        Json positions = Json::array();
        for (const auto& p : account->markets) positions.push_back(position_json(*account, p, book, params));
        j["positions"] = std::move(positions);
    } catch (const OverflowError&) {
        j["error"] = "overflow: a margin figure does not fit 64 bits";
    }
    return j;
}

Json state_json(const Engine& engine) {
    const ProtocolRecord protocol = load_protocol(engine.state());
    Json markets = Json::array();
    for (const auto& m : load_markets(engine.state())) {
        markets.push_back(Json{{"symbol", m.symbol},
                               {"size_decimals", m.size_decimals},
                               {"mark", usd(m.mark_price)},
                               {"open_interest", format_units(m.open_interest_lots, m.size_decimals)},
                               {"funding_index", format_wide(m.funding_index)},
                               {"funding_pool", usd(m.funding_pool_usd)}});
    }
    return Json{{"height", engine.height()},
                {"state_root", to_hex(engine.state_root())},
                {"time_ms", engine.time_ms()},
                {"insurance_fund", usd(protocol.insurance_fund_usd)},
                {"fee_pool", usd(protocol.fee_pool_usd)},
                {"markets", std::move(markets)}};
}

std::vector<Json> liquidatable_json(const Engine& engine) {
    std::vector<Json> lines;
    for (const auto& entry : find_liquidatable(engine.records(), engine.config())) {
        lines.push_back(Json{{"account", to_hex(entry.account)},
                             {"scope", entry.exposure.isolated ? "isolated" : "cross"},
                             {"markets", entry.markets},
                             {"value", usd(entry.exposure.value_usd)},
                             {"maintenance_margin", usd(entry.exposure.maintenance_margin_usd)},
                             {"case", case_name(entry.liquidation_case)},
                             {"needs_adl", entry.liquidation_case == LiquidationCase::needs_adl}});
    }
    return lines;
}

std::optional<std::vector<Json>> adl_queue_json(const Engine& engine, const std::string& market, int side) {
    const auto record = load_market(engine.state(), market);
    if (!record) return std::nullopt;
    std::vector<Json> lines;
    size_t rank = 0;
    for (const auto& c : adl_queue(engine.records(), engine.config().params, market, side)) {
        lines.push_back(Json{{"rank", ++rank},
                             {"account", to_hex(c.account)},
                             {"mode", mode_name(c.mode)},
                             {"size", format_units(c.size_lots, record->size_decimals)},
                             {"cost", usd(c.cost_usd)},
                             {"upnl", usd(c.upnl_usd)},
                             {"notional", usd(c.notional_usd)},
                             {"value", usd(c.value_usd)}});
    }
    return lines;
}

}  // namespace clearnode::cli
