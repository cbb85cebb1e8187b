// RULES §9: liquidation and the insurance-fund waterfall (cases 1-3 and 5), the §9 assessment
// that `liquidate`, `adl` and the keepers' query share, and the waterfall's movements of money.
//
// A liquidation's scope is the account's cross side, or one isolated position (case 5): the
// named market's position decides which. Every movement of a position is execute_fill at mark
// (fills.hpp), its notional rounded against the liquidated account; a full close at mark keeps
// V exactly (upnl rounds toward -infinity, and so does what a closing long receives and what a
// closing short pays), so the deficit the insurance fund pays is the -V the case was chosen by.
#pragma once

#include "clearing/context.hpp"
#include "clearing/margin.hpp"
#include "ledger/tx.hpp"

#include <string>
#include <vector>

namespace clearnode {

enum class LiquidationCase : uint8_t {
    none,       // not liquidatable
    keeper,     // 1: V >= backstop_ratio * MM: the named position passes to the signer
    backstop,   // 2: 0 <= V < backstop_ratio * MM: everything in scope passes to `backstop`
    bankrupt,   // 3: V < 0 and the insurance fund can pay -V down to its floor
    needs_adl,  // 4: V < 0 and it cannot: `adl` is valid
};
const char* case_name(LiquidationCase c);

// What §9 values: the account's cross side (V, cross MM) or one isolated position (Vi, its MM).
struct Exposure {
    bool isolated = false;
    int64_t value_usd = 0;
    int64_t maintenance_margin_usd = 0;
    bool liquidatable = false;
};

// The scope of `named` (a position of `account` with size != 0) at the marks of `book`.
Exposure exposure_of(const AccountRecord& account, const MarketPosition& named, const MarketBook& book, const Params& params);

// What the insurance fund can pay: insurance_fund - insurance_floor.
int64_t fund_available_usd(const ProtocolRecord& protocol, const Params& params);

// RULES §9, with V * 1e6 >= backstop_ratio_ppm * MM compared in 128 bits (no division).
// The backstop account cannot pass positions to itself: for it, cases 2 and 3 become "the fund
// pays a deficit, the positions stay" (bankrupt) and otherwise keeper liquidation (DESIGN.md).
LiquidationCase liquidation_case(const Exposure& exposure, int64_t fund_available_usd, const Params& params,
                                 bool is_backstop);

// Rejections in this order: unknown_market, self_liquidation, not_liquidatable (also: no
// position in the named market), needs_adl, liquidator_margin.
Reason apply_liquidate(TxContext& ctx, const Liquidate& tx);

// The keepers' view: every liquidatable scope, accounts ascending by id, an account's cross side
// before its isolated positions (by market). O(accounts holding positions), via the holder index.
struct LiquidatableEntry {
    AccountId account{};
    Exposure exposure;
    LiquidationCase liquidation_case = LiquidationCase::none;
    std::vector<std::string> markets;  // cross: every cross position's market; isolated: its own
};
std::vector<LiquidatableEntry> find_liquidatable(const RecordReader& view, const ConfigRecord& config);

// ---------------------------------------------------------------- the waterfall's movements

// Into the insurance fund / out of it (down to its floor, asserted), with an event that carries
// the balance after.
void insurance_in(ProtocolRecord& protocol, const AccountId& from, int64_t amount_usd, const char* reason,
                  std::vector<Event>& events);
void insurance_out(ProtocolRecord& protocol, const Params& params, const AccountId& to, int64_t amount_usd,
                   const char* reason, std::vector<Event>& events);

// Residual debt: what an account owes once nothing of it is left to close (an ADL close at the
// price bound on its last position, or an ADL counterparty closed out below zero). RULES is
// silent; clearnode lets the insurance fund pay it down to its floor and the fee pool the rest
// (the fee pool may then go negative: the protocol's recorded loss). See DESIGN.md.
void cover_residual_debt(ProtocolRecord& protocol, const Params& params, const AccountId& id, int64_t debt_usd,
                         std::vector<Event>& events);

// After a liquidation or ADL fill, for a party that takes no margin check (the backstop, an ADL
// counterparty): an isolated margin a losing close left below zero moves into the position's
// cost (Vi unchanged, as funding does) or, when the position closed, is residual debt; and
// negative collateral with no cross position left is residual debt. I3 holds afterwards.
void settle_after_forced_fill(AccountRecord& account, const AccountId& id, std::string_view market,
                              ProtocolRecord& protocol, const Params& params, std::vector<Event>& events);

bool holds_cross_position(const AccountRecord& account);

}  // namespace clearnode
