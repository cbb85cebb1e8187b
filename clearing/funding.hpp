// RULES §8 funding and the oracle's prices: `price` and `funding` transactions, and the lazy
// per-position settlement that makes a funding transaction O(1) per market.
//
// The market keeps a cumulative index, the sum over intervals of mark * rate_ppb. A position
// remembers the index it last settled at; whenever it is touched (a fill, a margin transfer),
// settle_funding moves what it owes since then between it and the market's funding pool, and
// every valuation in between counts the unsettled part as "funding owed" (margin.hpp).
//
// The pool may go transiently negative. Settlement is lazy, so a receiver touched before the
// payers of the same intervals takes from the pool before they pay into it. Refusing or capping
// its receipt would make what it gets depend on who happened to trade first; instead the pool
// is a signed balance of funding in flight, counted in I2 like any other balance, so I2 stays
// exact at every step. Once every position has settled, the pool holds the sum of the rounding
// residues, which is >= 0: each interval's exact amounts sum to zero over the positions (I1),
// and every settlement rounds up (payers pay more, receivers receive less).
#pragma once

#include "clearing/context.hpp"
#include "ledger/tx.hpp"

namespace clearnode {

Reason apply_price(TxContext& ctx, const PriceUpdate& tx);
Reason apply_funding(TxContext& ctx, const FundingUpdate& tx);

// Settles `position`'s funding since its index against `market`'s pool and brings its index up
// to the market's; returns what it paid (negative: received). A position of size 0 only takes
// the index. Cross positions settle in collateral (which may go negative while the account holds
// positions). Isolated ones settle in their isolated margin; what the margin cannot cover is
// charged to the position's cost (its entry moves against it by that much), so that the margin
// never goes negative and Vi = margin + upnl - owed is the same before and after settlement.
int64_t settle_funding(AccountRecord& account, MarketPosition& position, MarketRecord& market, const AccountId& id,
                       std::vector<Event>& events);

// RULES §8: when a market's open interest is back to zero, every position has settled (a fill
// settles both parties before it closes them) and the pool's remainder, the rounding residue,
// moves to the insurance fund.
void sweep_funding_pool(MarketRecord& market, ProtocolRecord& protocol, std::vector<Event>& events);

}  // namespace clearnode
