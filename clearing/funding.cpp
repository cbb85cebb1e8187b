#include "clearing/funding.hpp"

#include "clearing/margin.hpp"
#include "ledger/units.hpp"

#include <algorithm>
#include <cassert>

namespace clearnode {

Reason apply_price(TxContext& ctx, const PriceUpdate& tx) {
    assert(tx.prices.size() <= tx_list_entries_max);
    if (tx.prices.empty()) return Reason::bad_amount;
    for (const auto& entry : tx.prices) {
        auto market = load_market(ctx.view, entry.market);
        if (!market) return Reason::unknown_market;
        const UnitsOrReason price = units_for_rule(entry.price.text, usd_decimals);
        if (price.reason != Reason::ok) return price.reason;
        if (price.value <= 0) return Reason::bad_amount;
        market->mark_price = price.value;
        save(ctx.view, *market);
        ctx.events.push_back(Event{"price"}.with("market", entry.market).with("price", EventValue::usd(price.value)));
    }
    return Reason::ok;
}

// index += mark * clamp(rate_ppb, -cap, cap)
Reason apply_funding(TxContext& ctx, const FundingUpdate& tx) {
    assert(tx.rates.size() <= tx_list_entries_max);
    if (tx.rates.empty()) return Reason::bad_amount;
    const int64_t cap = ctx.config.params.funding_rate_cap_ppb;
    for (const auto& entry : tx.rates) {
        auto market = load_market(ctx.view, entry.market);
        if (!market) return Reason::unknown_market;
        const int64_t rate_ppb = std::clamp(entry.rate_ppb, -cap, cap);
        market->funding_index += Wide(market->mark_price) * rate_ppb;
        save(ctx.view, *market);
        ctx.events.push_back(Event{"funding_rate"}
                                 .with("market", entry.market)
                                 .with("rate_ppb", std::to_string(rate_ppb))
                                 .with("index", format_wide(market->funding_index)));
    }
    return Reason::ok;
}

int64_t settle_funding(AccountRecord& account, MarketPosition& position, MarketRecord& market, const AccountId& id,
                       std::vector<Event>& events) {
    assert(position.market == market.symbol);
    const int64_t owed_usd = funding_owed_usd(position.size_lots, position.funding_index, market.funding_index, market.size_decimals);
    position.funding_index = market.funding_index;
    if (owed_usd == 0) return 0;
    if (position.mode == MarginMode::cross) {
        account.collateral_usd = checked_sub(account.collateral_usd, owed_usd);
    } else if (owed_usd <= position.isolated_margin_usd) {
        position.isolated_margin_usd = checked_sub(position.isolated_margin_usd, owed_usd);
    } else {
        // The shortfall moves into cost: upnl falls by exactly what the margin could not pay.
        position.cost_usd = checked_add(position.cost_usd, owed_usd - position.isolated_margin_usd);
        position.isolated_margin_usd = 0;
    }
    market.funding_pool_usd = checked_add(market.funding_pool_usd, owed_usd);
    events.push_back(Event{"funding"}
                         .with("account", id)
                         .with("market", market.symbol)
                         .with("paid", EventValue::usd(owed_usd)));
    return owed_usd;
}

void sweep_funding_pool(MarketRecord& market, ProtocolRecord& protocol, std::vector<Event>& events) {
    if (market.open_interest_lots != 0 || market.funding_pool_usd == 0) return;
    // >= 0 by the argument in funding.hpp; moved whatever its sign so that no pool is stranded.
    protocol.insurance_fund_usd = checked_add(protocol.insurance_fund_usd, market.funding_pool_usd);
    events.push_back(Event{"funding_pool_to_insurance"}
                         .with("market", market.symbol)
                         .with("amount", EventValue::usd(market.funding_pool_usd)));
    market.funding_pool_usd = 0;
}

}  // namespace clearnode
