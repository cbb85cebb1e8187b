// RULES §5 account settings per market: `set_leverage` (leverage and cross/isolated mode) and
// `transfer_margin` (usd between collateral and an isolated position's margin).
#pragma once

#include "clearing/context.hpp"
#include "ledger/tx.hpp"

namespace clearnode {

// Rejections, in order: unknown_market; bad_amount (leverage 0); leverage_too_high (above tier
// 0's max leverage); mode_locked (a mode switch while the account holds a position in the
// market); insufficient_margin (lowering the leverage of a position whose side would then miss
// its initial margin: cross V < cross IM, or isolated Vi < IM).
Reason apply_set_leverage(TxContext& ctx, const SetLeverage& tx);

// amount > 0 moves collateral into the isolated margin: a removal of cross collateral, under the
// transfer-margin requirement (debit_for_removal). amount < 0 takes margin out: afterwards
// Vi >= max(IM, transfer_floor * notional) and the margin >= 0. The position's funding is
// settled first. Rejections, in order: unknown_market, bad_amount / overflow,
// no_isolated_position, insufficient_margin.
Reason apply_transfer_margin(TxContext& ctx, const TransferMargin& tx);

}  // namespace clearnode
