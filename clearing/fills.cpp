#include "clearing/fills.hpp"

#include "clearing/funding.hpp"
#include "ledger/units.hpp"

#include <algorithm>
#include <cassert>

namespace clearnode {
namespace {

// Isolated raising: ceil(opened notional / leverage) from collateral into the margin, or as
// much as brings Vi up to IM at mark if that is more.
int64_t fund_isolated(AccountRecord& account, MarketPosition& position, const MarketRecord& market, const Params& params,
                      int64_t opened_notional_usd) {
    const PositionMargin after = position_margin(position, market, params);
    const int64_t shortfall_usd = checked_sub(after.initial_margin_usd, after.value_usd);
    const int64_t moved_usd = std::max(initial_margin_usd(opened_notional_usd, after.leverage), shortfall_usd);
    position.isolated_margin_usd = checked_add(position.isolated_margin_usd, moved_usd);
    account.collateral_usd = checked_sub(account.collateral_usd, moved_usd);
    return moved_usd;
}

// One party's side of a fill: `delta_lots` (signed) for the signed notional `notional_usd`
// (the sign of delta: a buyer pays, a seller receives).
FillLeg apply_leg(MarketRecord& market, const Params& params, FillParty party, int64_t delta_lots, int64_t notional_usd,
                  std::vector<Event>& events) {
    MarketPosition& position = party.account.entry(market.symbol);
    AccountRecord& account = party.account;
    FillLeg leg;
    leg.size_before_lots = position.size_lots;
    leg.funding_paid_usd = settle_funding(account, position, market, party.id, events);
    leg.raised = raises_exposure(position.size_lots, delta_lots);
    int64_t open_lots = delta_lots;
    int64_t open_notional_usd = notional_usd;
    if (position.size_lots != 0 && (position.size_lots > 0) != (delta_lots > 0)) {
        const int64_t size_magnitude = narrow(abs_wide(position.size_lots));
        const int64_t delta_magnitude = narrow(abs_wide(delta_lots));
        const int64_t closed_lots = std::min(size_magnitude, delta_magnitude);
        // The closed part of the notional, rounded against the account: a buyer pays more, a
        // seller receives less. The open part gets the rest, so the parts sum to the notional.
        const int64_t close_notional_usd =
            closed_lots == delta_magnitude ? notional_usd : mul_div_ceil(notional_usd, closed_lots, delta_magnitude);
        // cost_released = cost * c / |size|, toward +infinity
        const int64_t released_cost_usd = mul_div_ceil(position.cost_usd, closed_lots, size_magnitude);
        // PnL = sign(size) * closed notional - cost_released; sign(size) * |n| = -n here.
        const int64_t pnl_usd = checked_sub(checked_neg(close_notional_usd), released_cost_usd);
        position.cost_usd = checked_sub(position.cost_usd, released_cost_usd);
        position.size_lots += delta_lots > 0 ? closed_lots : -closed_lots;
        leg.realized_pnl_usd = pnl_usd;
        if (position.mode == MarginMode::cross) {
            account.collateral_usd = checked_add(account.collateral_usd, pnl_usd);
        } else {
            position.isolated_margin_usd = checked_add(position.isolated_margin_usd, pnl_usd);
            if (position.isolated_margin_usd < 0) {
                leg.isolated_deficit_usd = -position.isolated_margin_usd;
            } else {
                // The closed fraction of the margin, rounded down; all of it on a close.
                const int64_t released_usd = position.size_lots == 0
                                                 ? position.isolated_margin_usd
                                                 : mul_div_floor(position.isolated_margin_usd, closed_lots, size_magnitude);
                position.isolated_margin_usd -= released_usd;
                account.collateral_usd = checked_add(account.collateral_usd, released_usd);
                leg.margin_out_usd = released_usd;
            }
        }
        open_lots = delta_lots - (delta_lots > 0 ? closed_lots : -closed_lots);
        open_notional_usd = checked_sub(notional_usd, close_notional_usd);
    }
    if (open_lots != 0) {
        position.size_lots = checked_add(position.size_lots, open_lots);
        position.cost_usd = checked_add(position.cost_usd, open_notional_usd);
        if (position.mode == MarginMode::isolated)
            leg.margin_in_usd = fund_isolated(account, position, market, params, narrow(abs_wide(open_notional_usd)));
    }
    leg.size_after_lots = position.size_lots;
    return leg;
}

int64_t long_lots(int64_t size_lots) { return std::max<int64_t>(size_lots, 0); }

int count_digits(int64_t v) {
    assert(v > 0);
    int digits = 0;
    for (; v > 0; v /= 10) ++digits;
    return digits;
}

}  // namespace

FillResult execute_fill(MarketRecord& market, ProtocolRecord& protocol, const Params& params, FillParty buyer,
                        FillParty seller, int64_t size_lots, int64_t price, Rounding notional_rounding,
                        std::vector<Event>& events) {
    assert(size_lots > 0 && price > 0);
    assert(buyer.id != seller.id);
    FillResult result;
    result.notional_usd = notional_usd(size_lots, price, market.size_decimals, notional_rounding);
    result.buyer = apply_leg(market, params, buyer, size_lots, result.notional_usd, events);
    result.seller = apply_leg(market, params, seller, -size_lots, -result.notional_usd, events);
    // Open interest is the sum of longs: each leg changes it by its change of long size.
    const int64_t oi_change = long_lots(result.buyer.size_after_lots) - long_lots(result.buyer.size_before_lots) +
                              long_lots(result.seller.size_after_lots) - long_lots(result.seller.size_before_lots);
    market.open_interest_lots = checked_add(market.open_interest_lots, oi_change);
    assert(market.open_interest_lots >= 0);
    events.push_back(Event{"fill", 8}
                         .with("market", market.symbol)
                         .with("buyer", buyer.id)
                         .with("seller", seller.id)
                         .with("size", EventValue::Units{size_lots, market.size_decimals})
                         .with("price", EventValue::usd(price))
                         .with("notional", EventValue::usd(result.notional_usd))
                         .with("buyer_pnl", EventValue::usd(result.buyer.realized_pnl_usd))
                         .with("seller_pnl", EventValue::usd(result.seller.realized_pnl_usd)));
    for (const auto& [leg, party] : {std::pair{&result.buyer, &buyer}, std::pair{&result.seller, &seller}}) {
        if (leg->margin_in_usd != 0 || leg->margin_out_usd != 0)
            events.push_back(Event{"isolated_margin"}
                                 .with("account", party->id)
                                 .with("market", market.symbol)
                                 .with("amount", EventValue::usd(leg->margin_in_usd - leg->margin_out_usd)));
    }
    sweep_funding_pool(market, protocol, events);
    return result;
}

bool on_tick(int64_t price, int32_t size_decimals) {
    assert(price > 0);
    if (price % pow10(size_decimals) != 0) return false;  // more than 6 - d decimals
    if (price % usd_one == 0) return true;                 // integers: any number of figures
    int64_t significant = price;
    while (significant % 10 == 0) significant /= 10;
    return count_digits(significant) <= 5;
}

int64_t price_tick(int64_t price, int32_t size_decimals) {
    assert(price > 0);
    const int digits = count_digits(price);
    const int64_t five_figures = digits > 5 ? pow10(digits - 5) : 1;
    return std::max(std::min(five_figures, usd_one), pow10(size_decimals));
}

namespace {

// A positive amount in `scale` decimals, or the reason it is not one.
UnitsOrReason positive_units(const DecimalText& text, int scale) {
    UnitsOrReason parsed = units_for_rule(text.text, scale);
    if (parsed.reason == Reason::ok && parsed.value <= 0) parsed.reason = Reason::bad_amount;
    return parsed;
}

// RULES §5 after a fill: raising or flipping needs V >= cross IM (the cross side also paid any
// isolated margin) and Vi >= IM; only lowering |size| needs V >= 0 and no isolated bad debt.
Reason fill_margin_check(const AccountRecord& account, const MarketBook& book, const Params& params,
                         const MarketRecord& market, const FillLeg& leg) {
    if (leg.isolated_deficit_usd > 0) return Reason::insufficient_margin;
    const AccountMargin cross = account_margin(account, book, params);
    const MarketPosition* position = account.find(market.symbol);
    assert(position != nullptr);
    if (!leg.raised) return cross.value_usd >= 0 ? Reason::ok : Reason::insufficient_margin;
    if (cross.value_usd < cross.initial_margin_usd) return Reason::insufficient_margin;
    if (position->mode == MarginMode::isolated) {
        const PositionMargin own = position_margin(*position, market, params);
        if (own.value_usd < own.initial_margin_usd) return Reason::insufficient_margin;
    }
    return Reason::ok;
}

int64_t size_in(const AccountRecord& account, std::string_view market) {
    const MarketPosition* position = account.find(market);
    return position != nullptr ? position->size_lots : 0;
}

void charge_fee(AccountRecord& account, const AccountId& id, ProtocolRecord& protocol, int64_t fee_usd,
                std::vector<Event>& events) {
    if (fee_usd == 0) return;
    account.collateral_usd = checked_sub(account.collateral_usd, fee_usd);
    protocol.fee_pool_usd = checked_add(protocol.fee_pool_usd, fee_usd);
    events.push_back(Event{"fee"}.with("account", id).with("amount", EventValue::usd(fee_usd)));
}

}  // namespace

// Rejections in RULES §7 order: unknown_market, self_trade, bad_amount, tick, maker_size,
// price_limit, reduce_only, min_notional, insufficient_margin (taker, then maker).
Reason apply_open(TxContext& ctx, const Open& tx) {
    const Params& params = ctx.config.params;
    auto market = load_market(ctx.view, tx.market);
    if (!market) return Reason::unknown_market;
    if (tx.maker.account == ctx.signer) return Reason::self_trade;
    const int32_t d = market->size_decimals;
    const UnitsOrReason size = positive_units(tx.size, d);
    const UnitsOrReason price = positive_units(tx.price, usd_decimals);
    const UnitsOrReason maker_size = positive_units(tx.maker.size, d);
    const UnitsOrReason limit = positive_units(tx.maker.limit, usd_decimals);
    for (const auto* parsed : {&size, &price, &maker_size, &limit})
        if (parsed->reason != Reason::ok) return parsed->reason;
    if (!on_tick(price.value, d) || !on_tick(limit.value, d)) return Reason::tick;
    if (size.value > maker_size.value) return Reason::maker_size;
    // A maker order on the taker's own side never matches; otherwise the maker gets its limit
    // or better.
    if (tx.maker.side == tx.side) return Reason::price_limit;
    if (tx.side == Side::buy ? price.value < limit.value : price.value > limit.value) return Reason::price_limit;

    AccountRecord taker = load_account(ctx.view, ctx.signer).value();
    AccountRecord maker = load_account(ctx.view, tx.maker.account).value();
    const int64_t taker_delta = tx.side == Side::buy ? size.value : -size.value;
    const bool maker_raises = raises_exposure(size_in(maker, tx.market), -taker_delta);
    const bool taker_raises = raises_exposure(size_in(taker, tx.market), taker_delta);
    if (tx.maker.reduce_only && maker_raises) return Reason::reduce_only;
    // Prices on the tick are multiples of 10^d usd units, so this notional is exact.
    if (notional_usd(size.value, price.value, d, Rounding::down) < params.min_notional_usd && (taker_raises || maker_raises))
        return Reason::min_notional;

    ProtocolRecord protocol = load_protocol(ctx.view);
    FillParty taker_party{ctx.signer, taker};
    FillParty maker_party{tx.maker.account, maker};
    const bool taker_buys = tx.side == Side::buy;
    const FillResult fill = execute_fill(*market, protocol, params, taker_buys ? taker_party : maker_party,
                                         taker_buys ? maker_party : taker_party, size.value, price.value, Rounding::down,
                                         ctx.events);
    charge_fee(taker, ctx.signer, protocol, mul_div_ceil(fill.notional_usd, params.taker_fee_ppm, ppm_one), ctx.events);
    charge_fee(maker, tx.maker.account, protocol, mul_div_ceil(fill.notional_usd, params.maker_fee_ppm, ppm_one), ctx.events);

    MarketBook taker_book = load_book(ctx.view, taker);
    MarketBook maker_book = load_book(ctx.view, maker);
    taker_book.insert_or_assign(market->symbol, *market);
    maker_book.insert_or_assign(market->symbol, *market);
    const FillLeg& taker_leg = taker_buys ? fill.buyer : fill.seller;
    const FillLeg& maker_leg = taker_buys ? fill.seller : fill.buyer;
    if (Reason r = fill_margin_check(taker, taker_book, params, *market, taker_leg); r != Reason::ok) return r;
    if (Reason r = fill_margin_check(maker, maker_book, params, *market, maker_leg); r != Reason::ok) return r;

    save(ctx.view, ctx.signer, std::move(taker));  // moved: a hot account's record is a deep copy
    save(ctx.view, tx.maker.account, std::move(maker));
    save(ctx.view, std::move(*market));
    save(ctx.view, std::move(protocol));
    return Reason::ok;
}

}  // namespace clearnode
