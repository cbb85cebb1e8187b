#include "clearing/leverage.hpp"

#include "clearing/funding.hpp"
#include "clearing/margin.hpp"
#include "ledger/units.hpp"

namespace clearnode {

Reason apply_set_leverage(TxContext& ctx, const SetLeverage& tx) {
    const Params& params = ctx.config.params;
    const auto market = load_market(ctx.view, tx.market);
    if (!market) return Reason::unknown_market;
    if (tx.leverage == 0) return Reason::bad_amount;
    if (tx.leverage > market->tiers[0].max_leverage) return Reason::leverage_too_high;
    AccountRecord account = load_account(ctx.view, ctx.signer).value();
    MarketPosition& position = account.entry(tx.market);
    if (tx.mode != position.mode && position.size_lots != 0) return Reason::mode_locked;
    const bool lowered = tx.leverage < leverage_setting(position.leverage, market->tiers, params);
    position.leverage = tx.leverage;
    position.mode = tx.mode;
    // Raising is always allowed; lowering must leave the initial margin met.
    if (lowered && position.size_lots != 0) {
        if (position.mode == MarginMode::cross) {
            const AccountMargin cross = account_margin(account, load_book(ctx.view, account), params);
            if (cross.value_usd < cross.initial_margin_usd) return Reason::insufficient_margin;
        } else {
            const PositionMargin own = position_margin(position, *market, params);
            if (own.value_usd < own.initial_margin_usd) return Reason::insufficient_margin;
        }
    }
    save(ctx.view, ctx.signer, account);
    ctx.events.push_back(Event{"leverage"}
                             .with("account", ctx.signer)
                             .with("market", tx.market)
                             .with("leverage", std::to_string(tx.leverage))
                             .with("mode", tx.mode == MarginMode::cross ? "cross" : "isolated"));
    return Reason::ok;
}

Reason apply_transfer_margin(TxContext& ctx, const TransferMargin& tx) {
    const Params& params = ctx.config.params;
    auto market = load_market(ctx.view, tx.market);
    if (!market) return Reason::unknown_market;
    const UnitsOrReason amount = units_for_rule(tx.amount.text, usd_decimals);
    if (amount.reason != Reason::ok) return amount.reason;
    if (amount.value == 0 || amount.value == INT64_MIN) return Reason::bad_amount;
    AccountRecord account = load_account(ctx.view, ctx.signer).value();
    MarketPosition* position = account.find(tx.market);
    if (position == nullptr || position->size_lots == 0 || position->mode != MarginMode::isolated)
        return Reason::no_isolated_position;
    settle_funding(account, *position, *market, ctx.signer, ctx.events);
    if (amount.value > 0) {
        if (Reason r = debit_for_removal(ctx, account, amount.value); r != Reason::ok) return r;
        position = account.find(tx.market);
        position->isolated_margin_usd = checked_add(position->isolated_margin_usd, amount.value);
    } else {
        // Vi >= max(IM, transfer_floor * notional) afterwards, and the margin stays >= 0.
        position->isolated_margin_usd = checked_add(position->isolated_margin_usd, amount.value);
        const PositionMargin own = position_margin(*position, *market, params);
        const int64_t required_usd = transfer_requirement_usd(own.initial_margin_usd, own.notional_usd, params.transfer_floor_ppm);
        if (position->isolated_margin_usd < 0 || own.value_usd < required_usd) return Reason::insufficient_margin;
        account.collateral_usd = checked_sub(account.collateral_usd, amount.value);
    }
    save(ctx.view, ctx.signer, account);
    save(ctx.view, *market);
    ctx.events.push_back(Event{"isolated_margin"}
                             .with("account", ctx.signer)
                             .with("market", tx.market)
                             .with("amount", EventValue::usd(amount.value)));
    return Reason::ok;
}

}  // namespace clearnode
