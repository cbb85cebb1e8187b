// RULES §4 and §5: what a position and an account are worth and what they must hold.
//
// Everything here but load_book and debit_for_removal is a pure function of numbers and
// records: no state access, no events. Liquidation and ADL (RULES §9) value accounts with the
// same functions, so that "liquidatable" and "meets initial margin" can never disagree.
//
// Rounding (RULES §2): what an account owes or must hold rounds up (notional for tiers and
// margins, MM, IM, funding owed, requirements); what it is worth rounds down (upnl).
#pragma once

#include "clearing/context.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace clearnode {

enum class Rounding : uint8_t { down, up };  // toward -infinity / toward +infinity

// notional(size, price) = |size| * price / 10^d, in usd.
int64_t notional_usd(int64_t size_lots, int64_t price, int32_t size_decimals, Rounding rounding);

// upnl = size * mark / 10^d - cost, the product rounded toward -infinity.
int64_t upnl_usd(int64_t size_lots, int64_t cost_usd, int64_t mark_price, int32_t size_decimals);

// RULES §8: owed = size * (market index - position index) / 10^(9+d), rounded up. The index is a
// sum of mark * rate_ppb, so this is what a payer pays (rounded up) or, negated, what a receiver
// receives (rounded down): one ceiling serves both and always rounds against the account.
int64_t funding_owed_usd(int64_t size_lots, const Wide& position_index, const Wide& market_index, int32_t size_decimals);

// The last tier whose floor is at or below `notional_usd` (RULES §5).
size_t tier_index(const std::vector<MarginTier>& tiers, int64_t notional_usd);

// mmr(n) = 1e6 / (2 * max_leverage(n)) ppm, rounded up.
int64_t maintenance_rate_ppm(uint32_t max_leverage);

// ded(0) = 0, ded(n) = ded(n-1) + floor(n) * (mmr(n) - mmr(n-1)) / 1e6, rounded down, so that
// MM is continuous in notional: at floor(n) both tiers give the same MM.
int64_t maintenance_deduction_usd(const std::vector<MarginTier>& tiers, size_t tier);

// MM = ceil(notional * mmr(tier) / 1e6) - ded(tier), with notional = |size| * mark rounded up.
int64_t maintenance_margin_usd(const std::vector<MarginTier>& tiers, int64_t notional_usd);

// The account's leverage setting for a market: the stored one, or the default
// min(default_leverage, max leverage of tier 0) when none is stored (0).
uint32_t leverage_setting(uint32_t stored, const std::vector<MarginTier>& tiers, const Params& params);

// min(setting, max leverage of the tier of `notional_usd`): a position that grows into a higher
// tier is margined at that tier's lower max leverage.
uint32_t effective_leverage(uint32_t stored, const std::vector<MarginTier>& tiers, int64_t notional_usd,
                            const Params& params);

// IM = ceil(notional / leverage).
int64_t initial_margin_usd(int64_t notional_usd, uint32_t leverage);

// max(IM, transfer_floor_ppm * notional / 1e6 rounded up): what must stay after a removal of
// collateral that is not a trade (RULES §5).
int64_t transfer_requirement_usd(int64_t initial_margin_usd, int64_t notional_usd, int64_t transfer_floor_ppm);

// The §4/§5 figures of one position at its market's mark.
struct PositionMargin {
    int64_t notional_usd = 0;  // |size| * mark, rounded up
    size_t tier = 0;
    uint32_t leverage = 0;     // effective: min(setting, max leverage of the tier)
    int64_t upnl_usd = 0;
    int64_t funding_owed_usd = 0;
    int64_t initial_margin_usd = 0;
    int64_t maintenance_margin_usd = 0;
    // Cross: upnl - funding owed (its share of V). Isolated: Vi = isolated margin + upnl - owed.
    int64_t value_usd = 0;
};
PositionMargin position_margin(const MarketPosition& position, const MarketRecord& market, const Params& params);

// The markets an account's figures need, by symbol (ordered: iteration is deterministic).
using MarketBook = std::map<std::string, MarketRecord, std::less<>>;

// The §4/§5 figures of an account's cross side.
struct AccountMargin {
    int64_t value_usd = 0;               // V = collateral + sum over cross positions (upnl - owed)
    int64_t initial_margin_usd = 0;      // cross IM
    int64_t maintenance_margin_usd = 0;  // cross MM
    int64_t notional_usd = 0;            // total cross notional
    int64_t transfer_requirement_usd = 0;
    bool has_cross_position = false;
};
AccountMargin account_margin(const AccountRecord& account, const MarketBook& book, const Params& params);

// Liquidation price of one position, every other price fixed (Hyperliquid's closed form):
//   liq = mark - side * margin_available / |size| / (1 - mmr * side)
// with margin_available = V - cross MM (cross) or Vi - MM (isolated), side = +1 long, -1 short,
// and mmr the maintenance rate of the tier the position has at that price. Solved exactly in
// integers per tier (see margin.cpp); rounded down for a long and up for a short, so that the
// price shown is at or beyond the exact crossing.
// nullopt when no positive price in int64 solves it (a long whose value covers a fall to zero,
// or a short whose account the other positions' MM already sinks at any price).
std::optional<int64_t> liquidation_price(const AccountRecord& account, const MarketPosition& position,
                                         const MarketBook& book, const Params& params);

// Liquidatable (RULES §9): cross V < cross MM with at least one cross position.
bool cross_liquidatable(const AccountMargin& figures);
// An isolated position with Vi < MM.
bool isolated_liquidatable(const PositionMargin& figures);

bool holds_positions(const AccountRecord& account);

// Does adding `delta_lots` to a position of `size_lots` raise |size| or flip its side? (Opening
// counts as raising.) Such a fill needs initial margin; one that only lowers |size| does not.
bool raises_exposure(int64_t size_lots, int64_t delta_lots);

// The markets of the account's entries, read from `view`.
MarketBook load_book(const RecordReader& view, const AccountRecord& account);

// RULES §5 transfer-margin requirement for a removal of cross collateral that is not a trade
// (withdraw, transfer, margin into an isolated position): debits `amount_usd` from `account`
// when the account still meets the requirement afterwards. An account without positions may
// remove up to its collateral (else `insufficient_collateral`); one with positions needs
// V >= max(cross IM, transfer_floor * cross notional) afterwards (else `insufficient_margin`).
Reason debit_for_removal(TxContext& ctx, AccountRecord& account, int64_t amount_usd);

}  // namespace clearnode
