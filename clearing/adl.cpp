#include "clearing/adl.hpp"

#include "clearing/fills.hpp"
#include "clearing/liquidation.hpp"
#include "ledger/units.hpp"

#include <algorithm>
#include <cassert>

namespace clearnode {
namespace {

using Wider = boost::multiprecision::checked_int256_t;

Wider cost_magnitude(int64_t cost_usd) {
    const Wider c = cost_usd < 0 ? Wider(-Wider(cost_usd)) : Wider(cost_usd);
    return c == 0 ? Wider(1) : c;
}

}  // namespace

bool adl_ranks_before(const AdlCandidate& a, const AdlCandidate& b) {
    const bool a_broke = a.value_usd <= 0;
    const bool b_broke = b.value_usd <= 0;
    if (a_broke != b_broke) return a_broke;
    const bool a_profit = a.upnl_usd > 0;
    const bool b_profit = b.upnl_usd > 0;
    if (a_profit != b_profit) return a_profit;
    // upnl_a / C_a * n_a / V_a  >  upnl_b / C_b * n_b / V_b, with C, V > 0 multiplied across
    Wider lhs = Wider(a.upnl_usd) * a.notional_usd * cost_magnitude(b.cost_usd);
    Wider rhs = Wider(b.upnl_usd) * b.notional_usd * cost_magnitude(a.cost_usd);
    if (!a_broke) {
        lhs *= b.value_usd;
        rhs *= a.value_usd;
    }
    if (lhs != rhs) return lhs > rhs;
    return a.account < b.account;
}

std::vector<AdlCandidate> adl_queue(const RecordReader& view, const Params& params, std::string_view market, int side) {
    assert(side == 1 || side == -1);
    std::vector<AdlCandidate> queue;
    for (const auto& id : holders(view, market)) {
        const auto account = load_account(view, id);
        if (!account) throw StorageError("the holder index names an account that does not exist");
        const MarketPosition* position = account->find(market);
        if (position == nullptr || position->size_lots == 0) throw StorageError("the holder index is out of step");
        if ((position->size_lots > 0) != (side > 0)) continue;
        const MarketBook book = load_book(view, *account);
        const PositionMargin own = position_margin(*position, book.at(position->market), params);
        AdlCandidate c;
        c.account = id;
        c.mode = position->mode;
        c.size_lots = position->size_lots;
        c.cost_usd = position->cost_usd;
        c.upnl_usd = own.upnl_usd;
        c.notional_usd = own.notional_usd;
        c.value_usd = position->mode == MarginMode::isolated ? own.value_usd : account_margin(*account, book, params).value_usd;
        queue.push_back(c);
    }
    std::sort(queue.begin(), queue.end(), adl_ranks_before);
    return queue;
}

Wide value_after_close(int64_t value_usd, int64_t size_lots, int64_t mark, int32_t size_decimals,
                       std::span<const int64_t> close_lots, int64_t price) {
    assert(size_lots != 0 && price > 0);
    const bool long_position = size_lots > 0;
    Wide received = 0;  // what the bankrupt receives (long) or pays (short) in all
    for (const int64_t lots : close_lots)
        received += notional_usd(lots, price, size_decimals, long_position ? Rounding::up : Rounding::down);
    const Wide at_mark = div_floor(Wide(size_lots) * mark, Wide(pow10(size_decimals)));
    return Wide(value_usd) - at_mark + (long_position ? received : -received);
}

BankruptcyPrice bankruptcy_price(int64_t value_usd, int64_t size_lots, int64_t mark, int32_t size_decimals,
                                 std::span<const int64_t> close_lots) {
    assert(size_lots != 0 && mark > 0);
    auto solvent = [&](int64_t price) {
        return value_after_close(value_usd, size_lots, mark, size_decimals, close_lots, price) >= 0;
    };
    if (size_lots > 0) {
        // The least p >= mark with V_after(p) >= 0. Upper bound: ceil(T * 10^d / size) with
        // T = floor(size * mark / 10^d) - V, where the sum of the rounded-up notionals is >= T.
        const Wide target = div_floor(Wide(size_lots) * mark, Wide(pow10(size_decimals))) - value_usd;
        int64_t high = std::max<int64_t>(mark, narrow(div_ceil(target * pow10(size_decimals), Wide(size_lots))));
        int64_t low = mark;
        assert(solvent(high));
        for (int step = 0; low < high; ++step) {
            assert(step < 64);
            const int64_t mid = low + (high - low) / 2;
            if (solvent(mid)) high = mid;
            else low = mid + 1;
        }
        return {low, false};
    }
    // The greatest p <= mark with V_after(p) >= 0; none: the range's bound, 1.
    if (!solvent(1)) return {1, true};
    int64_t low = 1;
    int64_t high = mark;
    for (int step = 0; low < high; ++step) {
        assert(step < 64);
        const int64_t mid = low + (high - low + 1) / 2;
        if (solvent(mid)) low = mid;
        else high = mid - 1;
    }
    return {low, false};
}

Reason apply_adl(TxContext& ctx, const Adl& tx) {
    const Params& params = ctx.config.params;
    auto market_found = load_market(ctx.view, tx.market);
    if (!market_found) return Reason::unknown_market;
    auto target = load_account(ctx.view, tx.account);
    const MarketPosition* found = target ? target->find(tx.market) : nullptr;
    if (found == nullptr || found->size_lots == 0) return Reason::adl_not_allowed;
    const MarketPosition named = *found;
    MarketBook book = load_book(ctx.view, *target);
    ProtocolRecord protocol = load_protocol(ctx.view);
    const Exposure exposure = exposure_of(*target, named, book, params);
    const bool is_backstop = tx.account == ctx.config.backstop;
    if (liquidation_case(exposure, fund_available_usd(protocol, params), params, is_backstop) != LiquidationCase::needs_adl)
        return Reason::adl_not_allowed;
    MarketRecord& market = book.at(tx.market);

    // Counterparties in rank order, each closing min(remaining, its size). By I1 the opposite
    // side holds at least the position.
    const std::vector<AdlCandidate> queue = adl_queue(ctx.view, params, tx.market, named.size_lots > 0 ? -1 : 1);
    std::vector<int64_t> close_lots;
    int64_t remaining_lots = checked_abs(named.size_lots);
    for (const auto& candidate : queue) {
        if (remaining_lots == 0) break;
        close_lots.push_back(std::min(remaining_lots, checked_abs(candidate.size_lots)));
        remaining_lots -= close_lots.back();
    }
    if (remaining_lots != 0) throw StorageError("I1 broken: the opposite side of " + tx.market + " is smaller than a position");

    const BankruptcyPrice p_b =
        bankruptcy_price(exposure.value_usd, named.size_lots, market.mark_price, market.size_decimals, close_lots);
    const bool long_position = named.size_lots > 0;
    ctx.events.push_back(Event{"adl", 10}
                             .with("account", tx.account)
                             .with("market", tx.market)
                             .with("scope", exposure.isolated ? "isolated" : "cross")
                             .with("side", long_position ? "long" : "short")
                             .with("size", EventValue::Units{checked_abs(named.size_lots), market.size_decimals})
                             .with("value", EventValue::usd(exposure.value_usd))
                             .with("mark", EventValue::usd(market.mark_price))
                             .with("bankruptcy_price", EventValue::usd(p_b.price))
                             .with("clamped", p_b.clamped ? "true" : "false")
                             .with("by", ctx.signer));

    int64_t released_usd = 0;  // isolated: margin the fills released to collateral
    FillParty bankrupt{tx.account, *target};
    for (size_t i = 0; i < close_lots.size(); ++i) {
        const AccountId& cp_id = queue[i].account;
        AccountRecord cp = load_account(ctx.view, cp_id).value();
        FillParty counterparty{cp_id, cp};
        // Against the counterparty: it pays more (buys from a long) or receives less.
        const FillResult fill = execute_fill(market, protocol, params, long_position ? counterparty : bankrupt,
                                             long_position ? bankrupt : counterparty, close_lots[i], p_b.price,
                                             long_position ? Rounding::up : Rounding::down, ctx.events);
        released_usd = checked_add(released_usd, (long_position ? fill.seller : fill.buyer).margin_out_usd);
        ctx.events.push_back(Event{"adl_fill", 6}
                                 .with("account", tx.account)
                                 .with("counterparty", cp_id)
                                 .with("rank", std::to_string(i + 1))
                                 .with("market", tx.market)
                                 .with("size", EventValue::Units{close_lots[i], market.size_decimals})
                                 .with("price", EventValue::usd(p_b.price)));
        settle_after_forced_fill(cp, cp_id, tx.market, protocol, params, ctx.events);
        save(ctx.view, cp_id, cp);
    }

    // What is left of the scope: a positive remainder goes to the insurance fund; a deficit with
    // nothing left to close (a clamped close of the scope's last position) is residual debt.
    if (exposure.isolated) {
        MarketPosition& closed = *target->find(tx.market);
        assert(closed.size_lots == 0);
        target->collateral_usd = checked_sub(target->collateral_usd, released_usd);
        const int64_t left_usd = checked_add(released_usd, closed.isolated_margin_usd);
        closed.isolated_margin_usd = 0;
        if (left_usd >= 0) insurance_in(protocol, tx.account, left_usd, "adl_remainder", ctx.events);
        else cover_residual_debt(protocol, params, tx.account, checked_neg(left_usd), ctx.events);
    } else if (!holds_cross_position(*target)) {
        const int64_t left_usd = target->collateral_usd;
        target->collateral_usd = 0;
        if (left_usd >= 0) insurance_in(protocol, tx.account, left_usd, "adl_remainder", ctx.events);
        else cover_residual_debt(protocol, params, tx.account, checked_neg(left_usd), ctx.events);
    }
    save(ctx.view, tx.account, *target);
    save(ctx.view, market);
    save(ctx.view, protocol);
    return Reason::ok;
}

}  // namespace clearnode
