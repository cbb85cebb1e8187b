// RULES §7 fills: the one primitive that moves a position between two accounts, and the `open`
// transaction that layers the fill rules (tick, maker order, fees, margin) on top of it.
//
// Liquidation (at mark, no fee, no tick rule) and ADL (at the bankruptcy price) move positions
// with execute_fill too, so that every change of a position, whoever causes it, keeps RULES
// §10 I1 and I2 by the same code.
#pragma once

#include "clearing/context.hpp"
#include "clearing/margin.hpp"
#include "ledger/tx.hpp"

namespace clearnode {

// One side of a fill: an account loaded by the caller, changed in place, saved by the caller.
struct FillParty {
    const AccountId& id;
    AccountRecord& account;
};

// What a fill did to one party's position in the market.
struct FillLeg {
    int64_t size_before_lots = 0;
    int64_t size_after_lots = 0;
    int64_t funding_paid_usd = 0;        // settled before the fill (negative: received)
    int64_t realized_pnl_usd = 0;        // into collateral (cross) or isolated margin
    int64_t margin_in_usd = 0;           // isolated: moved from collateral into the position
    int64_t margin_out_usd = 0;          // isolated: released to collateral
    int64_t isolated_deficit_usd = 0;    // isolated: how far a losing close left the margin below 0
    bool raised = false;                 // |size| grew or the side flipped: needs IM
};

struct FillResult {
    int64_t notional_usd = 0;
    FillLeg buyer;
    FillLeg seller;
};

// execute_fill: `size_lots` (> 0) of `market` pass from `seller` to `buyer` at `price` (> 0).
//
// Contract:
// - Settles both parties' funding in this market first (settle_funding).
// - The notional |size| * price / 10^d is computed once, rounded as `notional_rounding` says
//   (fills at a tick-rule price are exact; liquidation rounds against the liquidated account,
//   ADL against the counterparty), and the same number enters both books.
// - Per party, with delta = +size (buyer) or -size (seller) and its signed notional n:
//   raising (or opening) adds n to cost; reducing c lots releases cost * c / |size| rounded
//   toward +infinity and realizes PnL = sign(size) * closed notional - released cost (rounded
//   against the account) into collateral (cross) or the isolated margin; a flip closes first,
//   then opens the rest (the notional split by lots, the closed part rounded against the
//   account: n_close = ceil(n * c / |delta|); the parts sum to n).
// - Isolated reducing: after the PnL, the closed fraction of the margin, floor(margin * c /
//   |size|), or all of it on a close, goes back to collateral; nothing is released while the
//   margin is negative.
// - Isolated raising: moves ceil(opened notional / leverage) from collateral into the margin,
//   or more when that does not bring Vi up to the position's IM at mark (a fill worse than
//   mark costs its immediate loss too), so that Vi >= IM holds afterwards by construction and
//   the binding check is the cross side's (it paid the margin). On a flip whose close left the
//   margin negative, that top-up covers the deficit from collateral (isolated_deficit_usd still
//   reports it, so that `open` can refuse the fill).
// - Keeps the market's open interest (sum of longs) and, when it returns to zero, sweeps the
//   funding pool to the insurance fund (sweep_funding_pool).
// - Checks nothing else: no margin, fee, tick, limit or bad-debt rule. An isolated margin may
//   be left negative by a losing close (bad debt) and cross collateral may go below zero; the
//   caller rejects (open: insufficient_margin) or covers the deficit (liquidation). The caller
//   saves both accounts (save keeps the holder index), the market and the protocol record.
// - Throws OverflowError when a result leaves int64 (the engine turns it into `overflow`).
FillResult execute_fill(MarketRecord& market, ProtocolRecord& protocol, const Params& params, FillParty buyer,
                        FillParty seller, int64_t size_lots, int64_t price, Rounding notional_rounding,
                        std::vector<Event>& events);

// RULES §1 tick rule for prices written in fills and maker orders: at most 5 significant figures
// unless the price is an integer, and at most 6 - d decimals.
bool on_tick(int64_t price, int32_t size_decimals);
// The smallest step a tick-rule price can take at `price` (for the liquidation-price tests and
// the README): 10^(digits - 5) usd units for a non-integer price, at least 10^d.
int64_t price_tick(int64_t price, int32_t size_decimals);

Reason apply_open(TxContext& ctx, const Open& tx);

}  // namespace clearnode
