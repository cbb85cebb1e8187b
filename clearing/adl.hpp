// RULES §9 case 4 (and 5 for isolated positions): auto-deleveraging at the bankruptcy price.
//
// `adl` closes the bankrupt scope's position in the named market against the opposite side,
// ranked by profit share times leverage, each counterparty closing min(remaining, its size) at
// one price p_b with no fee. The ranking and p_b are pure functions below, so that the keepers'
// query (`clearnode query adl-queue`) and the transaction rank by the same code.
#pragma once

#include "clearing/context.hpp"
#include "clearing/margin.hpp"
#include "ledger/tx.hpp"

#include <span>
#include <vector>

namespace clearnode {

// One opposite-side position as the ranking sees it, at the current marks.
struct AdlCandidate {
    AccountId account{};
    MarginMode mode = MarginMode::cross;
    int64_t size_lots = 0;
    int64_t cost_usd = 0;
    int64_t upnl_usd = 0;
    int64_t notional_usd = 0;  // |size| * mark, rounded up (RULES §5)
    int64_t value_usd = 0;     // V_cp: the account's cross V, or Vi for an isolated position
};

// RULES §9: a before b when its upnl / |cost| * notional / V_cp is higher; V_cp <= 0 first of all
// (their leverage is unbounded; among them the higher upnl / |cost| * notional first), profitable
// (upnl > 0) before unprofitable, ties by account id ascending. |cost| = 0 counts as 1 usd unit.
// Compared by cross-multiplication in 256 bits: each side is a product of at most four values
// of magnitude <= 2^63, so |product| <= 2^252 < 2^256 - 1, the range of checked_int256_t.
bool adl_ranks_before(const AdlCandidate& a, const AdlCandidate& b);

// Every position of `market` on `side` (+1 longs, -1 shorts), in ADL order. O(holders of the
// market), each valued with its own account's markets.
std::vector<AdlCandidate> adl_queue(const RecordReader& view, const Params& params, std::string_view market, int side);

// The value of the scope after closing its position of `size_lots` (value `value_usd` at `mark`,
// the rest at mark) in fills of `close_lots` at `price`, each fill's notional rounded against the
// counterparty (up when the bankrupt is long and sells, down when it is short and buys):
//   V_after = V - floor(size * mark / 10^d) + sign(size) * sum_i notional_i(price)
Wide value_after_close(int64_t value_usd, int64_t size_lots, int64_t mark, int32_t size_decimals,
                       std::span<const int64_t> close_lots, int64_t price);

// p_b: the price closest to mark at which value_after_close >= 0, found by bisection on the exact
// rounding of the fills (V_after is monotonic in the price). A long's p_b >= mark, a short's
// <= mark; a short whose p_b would be <= 0 closes at 1, the range's bound (clamped).
struct BankruptcyPrice {
    int64_t price = 0;
    bool clamped = false;
};
BankruptcyPrice bankruptcy_price(int64_t value_usd, int64_t size_lots, int64_t mark, int32_t size_decimals,
                                 std::span<const int64_t> close_lots);

// Rejections: unknown_market, then adl_not_allowed (no position in the named market, or its
// scope is not in §9 case 4).
Reason apply_adl(TxContext& ctx, const Adl& tx);

}  // namespace clearnode
