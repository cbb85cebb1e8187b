#include "clearing/liquidation.hpp"

#include "clearing/fills.hpp"
#include "ledger/units.hpp"

#include <algorithm>
#include <cassert>
#include <set>

namespace clearnode {

const char* case_name(LiquidationCase c) {
    switch (c) {
        case LiquidationCase::none: return "none";
        case LiquidationCase::keeper: return "keeper";
        case LiquidationCase::backstop: return "backstop";
        case LiquidationCase::bankrupt: return "bankrupt";
        case LiquidationCase::needs_adl: return "adl";
    }
    return "none";
}

bool holds_cross_position(const AccountRecord& account) {
    return std::any_of(account.markets.begin(), account.markets.end(),
                       [](const MarketPosition& p) { return p.size_lots != 0 && p.mode == MarginMode::cross; });
}

Exposure exposure_of(const AccountRecord& account, const MarketPosition& named, const MarketBook& book, const Params& params) {
    assert(named.size_lots != 0);
    Exposure e;
    if (named.mode == MarginMode::isolated) {
        const PositionMargin figures = position_margin(named, book.at(named.market), params);
        e.isolated = true;
        e.value_usd = figures.value_usd;
        e.maintenance_margin_usd = figures.maintenance_margin_usd;
        e.liquidatable = isolated_liquidatable(figures);
    } else {
        const AccountMargin figures = account_margin(account, book, params);
        e.value_usd = figures.value_usd;
        e.maintenance_margin_usd = figures.maintenance_margin_usd;
        e.liquidatable = cross_liquidatable(figures);
    }
    return e;
}

int64_t fund_available_usd(const ProtocolRecord& protocol, const Params& params) {
    return checked_sub(protocol.insurance_fund_usd, params.insurance_floor_usd);
}

LiquidationCase liquidation_case(const Exposure& exposure, int64_t fund_available_usd, const Params& params,
                                 bool is_backstop) {
    if (!exposure.liquidatable) return LiquidationCase::none;
    const int64_t v = exposure.value_usd;
    const bool covered = v >= 0 || Wide(fund_available_usd) >= -Wide(v);
    if (is_backstop) {
        if (v >= 0) return LiquidationCase::keeper;
        return covered ? LiquidationCase::bankrupt : LiquidationCase::needs_adl;
    }
    // V >= backstop_ratio * MM  <=>  V * 1e6 >= ratio_ppm * MM
    if (Wide(v) * ppm_one >= Wide(params.backstop_ratio_ppm) * exposure.maintenance_margin_usd) return LiquidationCase::keeper;
    if (v >= 0) return LiquidationCase::backstop;
    return covered ? LiquidationCase::bankrupt : LiquidationCase::needs_adl;
}

// ---------------------------------------------------------------- the waterfall's movements

void insurance_in(ProtocolRecord& protocol, const AccountId& from, int64_t amount_usd, const char* reason,
                  std::vector<Event>& events) {
    assert(amount_usd >= 0);
    if (amount_usd == 0) return;
    protocol.insurance_fund_usd = checked_add(protocol.insurance_fund_usd, amount_usd);
    events.push_back(Event{"insurance_fund"}
                         .with("flow", "in")
                         .with("account", from)
                         .with("amount", EventValue::usd(amount_usd))
                         .with("reason", reason)
                         .with("balance", EventValue::usd(protocol.insurance_fund_usd)));
}

void insurance_out(ProtocolRecord& protocol, [[maybe_unused]] const Params& params, const AccountId& to, int64_t amount_usd,
                   const char* reason, std::vector<Event>& events) {
    assert(amount_usd >= 0 && amount_usd <= fund_available_usd(protocol, params));
    if (amount_usd == 0) return;
    protocol.insurance_fund_usd = checked_sub(protocol.insurance_fund_usd, amount_usd);
    events.push_back(Event{"insurance_fund"}
                         .with("flow", "out")
                         .with("account", to)
                         .with("amount", EventValue::usd(amount_usd))
                         .with("reason", reason)
                         .with("balance", EventValue::usd(protocol.insurance_fund_usd)));
}

void cover_residual_debt(ProtocolRecord& protocol, const Params& params, const AccountId& id, int64_t debt_usd,
                         std::vector<Event>& events) {
    assert(debt_usd > 0);
    const int64_t from_fund_usd = std::clamp<int64_t>(fund_available_usd(protocol, params), 0, debt_usd);
    insurance_out(protocol, params, id, from_fund_usd, "residual_debt", events);
    const int64_t rest_usd = debt_usd - from_fund_usd;
    if (rest_usd == 0) return;
    protocol.fee_pool_usd = checked_sub(protocol.fee_pool_usd, rest_usd);
    events.push_back(Event{"fee_pool"}
                         .with("flow", "out")
                         .with("account", id)
                         .with("amount", EventValue::usd(rest_usd))
                         .with("reason", "residual_debt")
                         .with("balance", EventValue::usd(protocol.fee_pool_usd)));
}

void settle_after_forced_fill(AccountRecord& account, const AccountId& id, std::string_view market,
                              ProtocolRecord& protocol, const Params& params, std::vector<Event>& events) {
    MarketPosition* position = account.find(market);
    if (position != nullptr && position->mode == MarginMode::isolated && position->isolated_margin_usd < 0) {
        const int64_t shortfall_usd = checked_neg(position->isolated_margin_usd);
        position->isolated_margin_usd = 0;
        // Vi = margin + (signed notional - cost) - owed: margin and cost rise together.
        if (position->size_lots != 0) position->cost_usd = checked_add(position->cost_usd, shortfall_usd);
        else cover_residual_debt(protocol, params, id, shortfall_usd, events);
    }
    if (account.collateral_usd < 0 && !holds_cross_position(account)) {
        cover_residual_debt(protocol, params, id, checked_neg(account.collateral_usd), events);
        account.collateral_usd = 0;
    }
}

// ---------------------------------------------------------------- liquidate

namespace {

// The position of `from` passes to `to` (whole or `lots` of it) at mark, its notional rounded
// against `from`.
FillResult pass_position(TxContext& ctx, MarketRecord& market, ProtocolRecord& protocol, const AccountId& from_id,
                         AccountRecord& from, const AccountId& to_id, AccountRecord& to, int64_t lots) {
    const bool long_position = from.find(market.symbol)->size_lots > 0;
    FillParty from_party{from_id, from};
    FillParty to_party{to_id, to};
    // A long is sold: it receives the notional rounded down; a short is bought: it pays it rounded up.
    const FillResult fill = execute_fill(market, protocol, ctx.config.params, long_position ? to_party : from_party,
                                         long_position ? from_party : to_party, lots, market.mark_price,
                                         long_position ? Rounding::down : Rounding::up, ctx.events);
    ctx.events.push_back(Event{"position_passed", 6}
                             .with("from", from_id)
                             .with("to", to_id)
                             .with("market", market.symbol)
                             .with("side", long_position ? "long" : "short")
                             .with("size", EventValue::Units{lots, market.size_decimals})
                             .with("price", EventValue::usd(market.mark_price)));
    return fill;
}

bool outside_cooldown(const MarketPosition& position, int64_t block_time_ms, const Params& params) {
    if (position.last_partial_liquidation_ms == no_time_ms) return true;
    return Wide(block_time_ms) - position.last_partial_liquidation_ms >= params.partial_cooldown_ms;
}

// The liquidator must meet initial margin afterwards: cross V >= cross IM and, when its position
// in the market is isolated, Vi >= IM; a losing close into isolated bad debt never passes.
bool meets_initial_margin(const AccountRecord& account, const MarketBook& book, const MarketRecord& market,
                          const Params& params, const FillLeg& leg) {
    if (leg.isolated_deficit_usd > 0) return false;
    const AccountMargin cross = account_margin(account, book, params);
    if (cross.value_usd < cross.initial_margin_usd) return false;
    const MarketPosition* position = account.find(market.symbol);
    if (position == nullptr || position->size_lots == 0 || position->mode != MarginMode::isolated) return true;
    const PositionMargin own = position_margin(*position, market, params);
    return own.value_usd >= own.initial_margin_usd;
}

// Case 1. The fee is capped at what keeps the liquidated V (or Vi) >= 0; an isolated position
// pays it from what the fill released to collateral first, then from the margin that stays.
// `market` is `book`'s entry, so that the valuation after the fill sees the fill.
Reason liquidate_by_keeper(TxContext& ctx, const AccountId& target_id, AccountRecord& target, MarketBook& book,
                           MarketRecord& market, ProtocolRecord& protocol) {
    const Params& params = ctx.config.params;
    MarketPosition& named = *target.find(market.symbol);
    const bool isolated = named.mode == MarginMode::isolated;
    const bool was_long = named.size_lots > 0;
    const int64_t size_lots = checked_abs(named.size_lots);
    int64_t lots = size_lots;
    const PositionMargin before = position_margin(named, market, params);
    if (before.notional_usd > params.partial_threshold_usd && outside_cooldown(named, ctx.block_time_ms, params)) {
        lots = mul_div_ceil(size_lots, params.partial_ppm, ppm_one);  // rounded up to a lot
        if (lots < size_lots) named.last_partial_liquidation_ms = ctx.block_time_ms;
    }
    AccountRecord keeper = load_account(ctx.view, ctx.signer).value();
    const FillResult fill = pass_position(ctx, market, protocol, target_id, target, ctx.signer, keeper, lots);
    const FillLeg& target_leg = was_long ? fill.seller : fill.buyer;
    const FillLeg& keeper_leg = was_long ? fill.buyer : fill.seller;

    // fee = ceil(notional * liquidation_fee_ppm / 1e6), capped so that V (Vi) stays >= 0
    int64_t fee_usd = mul_div_ceil(fill.notional_usd, params.liquidation_fee_ppm, ppm_one);
    int64_t from_collateral_usd = fee_usd;
    if (isolated) {
        settle_after_forced_fill(target, target_id, market.symbol, protocol, params, ctx.events);
        const MarketPosition& rest = *target.find(market.symbol);
        const int64_t released_usd = target_leg.margin_out_usd;
        int64_t cap_usd = released_usd;
        if (rest.size_lots != 0)
            cap_usd = checked_add(cap_usd, std::min(position_margin(rest, market, params).value_usd, rest.isolated_margin_usd));
        fee_usd = std::clamp<int64_t>(cap_usd, 0, fee_usd);
        from_collateral_usd = std::min(fee_usd, released_usd);
        target.find(market.symbol)->isolated_margin_usd -= fee_usd - from_collateral_usd;
    } else {
        fee_usd = std::clamp<int64_t>(account_margin(target, book, params).value_usd, 0, fee_usd);
        from_collateral_usd = fee_usd;
    }
    target.collateral_usd = checked_sub(target.collateral_usd, from_collateral_usd);
    const int64_t to_keeper_usd = mul_div_floor(fee_usd, params.liquidator_share_ppm, ppm_one);
    keeper.collateral_usd = checked_add(keeper.collateral_usd, to_keeper_usd);
    ctx.events.push_back(Event{"liquidation_fee"}
                             .with("account", target_id)
                             .with("liquidator", ctx.signer)
                             .with("amount", EventValue::usd(fee_usd))
                             .with("to_liquidator", EventValue::usd(to_keeper_usd))
                             .with("to_insurance", EventValue::usd(fee_usd - to_keeper_usd)));
    insurance_in(protocol, target_id, fee_usd - to_keeper_usd, "liquidation_fee", ctx.events);

    MarketBook keeper_book = load_book(ctx.view, keeper);
    keeper_book.insert_or_assign(market.symbol, market);
    if (!meets_initial_margin(keeper, keeper_book, market, params, keeper_leg)) return Reason::liquidator_margin;
    save(ctx.view, ctx.signer, keeper);
    return Reason::ok;
}

// Cases 2 and 3: every position of the scope passes to the backstop account at mark, with no
// margin check on it; what is left (V >= 0) goes to the insurance fund, or the fund pays the
// deficit; the scope ends with no position and nothing in it.
Reason liquidate_to_backstop(TxContext& ctx, const AccountId& target_id, AccountRecord& target, MarketBook& book,
                             const MarketPosition& named, ProtocolRecord& protocol) {
    const Params& params = ctx.config.params;
    const AccountId& backstop_id = ctx.config.backstop;
    AccountRecord backstop = load_account(ctx.view, backstop_id).value_or(AccountRecord{});
    std::vector<std::string> symbols;
    if (named.mode == MarginMode::isolated) symbols.push_back(named.market);
    else
        for (const auto& p : target.markets)
            if (p.size_lots != 0 && p.mode == MarginMode::cross) symbols.push_back(p.market);
    const bool isolated = named.mode == MarginMode::isolated;
    int64_t left_usd = 0;  // isolated: what the position returns; cross: the collateral
    for (const auto& symbol : symbols) {
        MarketRecord& market = book.at(symbol);
        const int64_t size_lots = target.find(symbol)->size_lots;
        const int64_t lots = checked_abs(size_lots);
        const FillResult fill = pass_position(ctx, market, protocol, target_id, target, backstop_id, backstop, lots);
        settle_after_forced_fill(backstop, backstop_id, symbol, protocol, params, ctx.events);
        if (isolated) {
            // The released margin went to collateral; it belongs to the position's waterfall.
            const FillLeg& leg = size_lots > 0 ? fill.seller : fill.buyer;
            MarketPosition& closed = *target.find(symbol);
            target.collateral_usd = checked_sub(target.collateral_usd, leg.margin_out_usd);
            left_usd = checked_add(leg.margin_out_usd, closed.isolated_margin_usd);
            closed.isolated_margin_usd = 0;
        }
        save(ctx.view, market);
    }
    if (!isolated) {
        left_usd = target.collateral_usd;
        target.collateral_usd = 0;
    }
    if (left_usd >= 0) {
        insurance_in(protocol, target_id, left_usd, "remaining_collateral", ctx.events);
    } else {
        // A full close at mark keeps V, so this is the -V the case was chosen by.
        if (checked_neg(left_usd) > fund_available_usd(protocol, params)) return Reason::needs_adl;
        insurance_out(protocol, params, target_id, checked_neg(left_usd), "deficit", ctx.events);
    }
    save(ctx.view, backstop_id, backstop);
    return Reason::ok;
}

// The backstop account's own case 3: it cannot pass positions to itself, so the fund pays the
// deficit into the scope and the positions stay, to be taken by keepers (case 1 at V = 0).
void cover_backstop_deficit(TxContext& ctx, const AccountId& id, AccountRecord& account, const MarketPosition& named,
                            const Exposure& exposure, ProtocolRecord& protocol) {
    assert(exposure.value_usd < 0);
    const int64_t deficit_usd = checked_neg(exposure.value_usd);
    insurance_out(protocol, ctx.config.params, id, deficit_usd, "deficit", ctx.events);
    if (exposure.isolated) {
        MarketPosition& position = *account.find(named.market);
        position.isolated_margin_usd = checked_add(position.isolated_margin_usd, deficit_usd);
    } else {
        account.collateral_usd = checked_add(account.collateral_usd, deficit_usd);
    }
}

}  // namespace

Reason apply_liquidate(TxContext& ctx, const Liquidate& tx) {
    const Params& params = ctx.config.params;
    auto market = load_market(ctx.view, tx.market);
    if (!market) return Reason::unknown_market;
    if (tx.account == ctx.signer) return Reason::self_liquidation;
    auto target = load_account(ctx.view, tx.account);
    const MarketPosition* found = target ? target->find(tx.market) : nullptr;
    if (found == nullptr || found->size_lots == 0) return Reason::not_liquidatable;
    const MarketPosition named = *found;
    MarketBook book = load_book(ctx.view, *target);
    ProtocolRecord protocol = load_protocol(ctx.view);
    const bool is_backstop = tx.account == ctx.config.backstop;
    const Exposure exposure = exposure_of(*target, named, book, params);
    const LiquidationCase kase = liquidation_case(exposure, fund_available_usd(protocol, params), params, is_backstop);
    if (kase == LiquidationCase::none) return Reason::not_liquidatable;
    if (kase == LiquidationCase::needs_adl) return Reason::needs_adl;
    ctx.events.push_back(Event{"liquidation", 7}
                             .with("account", tx.account)
                             .with("market", tx.market)
                             .with("scope", exposure.isolated ? "isolated" : "cross")
                             .with("case", case_name(kase))
                             .with("value", EventValue::usd(exposure.value_usd))
                             .with("maintenance_margin", EventValue::usd(exposure.maintenance_margin_usd))
                             .with("by", ctx.signer));
    Reason reason = Reason::ok;
    if (kase == LiquidationCase::keeper) {
        MarketRecord& named_market = book.at(tx.market);
        reason = liquidate_by_keeper(ctx, tx.account, *target, book, named_market, protocol);
        if (reason == Reason::ok) save(ctx.view, named_market);
    } else if (is_backstop) {
        cover_backstop_deficit(ctx, tx.account, *target, named, exposure, protocol);
    } else {
        reason = liquidate_to_backstop(ctx, tx.account, *target, book, named, protocol);
    }
    if (reason != Reason::ok) return reason;
    save(ctx.view, tx.account, *target);
    save(ctx.view, protocol);
    return Reason::ok;
}

std::vector<LiquidatableEntry> find_liquidatable(const RecordReader& view, const ConfigRecord& config) {
    MarketBook book;
    for (auto& m : load_markets(view)) book.emplace(m.symbol, std::move(m));
    std::set<AccountId> ids;
    for (const auto& [symbol, market] : book)
        for (const auto& id : holders(view, symbol)) ids.insert(id);
    const int64_t available_usd = fund_available_usd(load_protocol(view), config.params);
    std::vector<LiquidatableEntry> out;
    for (const auto& id : ids) {
        const auto account = load_account(view, id);
        if (!account) throw StorageError("the holder index names an account that does not exist");
        const bool is_backstop = id == config.backstop;
        const MarketPosition* cross = nullptr;
        std::vector<std::string> cross_markets;
        for (const auto& p : account->markets) {
            if (p.size_lots == 0 || p.mode != MarginMode::cross) continue;
            if (cross == nullptr) cross = &p;
            cross_markets.push_back(p.market);
        }
        auto consider = [&](const MarketPosition& named, std::vector<std::string> markets) {
            const Exposure e = exposure_of(*account, named, book, config.params);
            const LiquidationCase c = liquidation_case(e, available_usd, config.params, is_backstop);
            if (c != LiquidationCase::none) out.push_back(LiquidatableEntry{id, e, c, std::move(markets)});
        };
        if (cross != nullptr) consider(*cross, std::move(cross_markets));
        for (const auto& p : account->markets)
            if (p.size_lots != 0 && p.mode == MarginMode::isolated) consider(p, {p.market});
    }
    return out;
}

}  // namespace clearnode
