// RULES §4 and §5: what an account is worth and what it must hold.
#pragma once

#include "clearing/context.hpp"

namespace clearnode {

bool holds_positions(const AccountRecord& account);

// RULES §5 transfer-margin requirement for a removal of cross collateral that is not a trade
// (withdraw, transfer): debits `amount_usd` from `account` when the account still meets the
// requirement afterwards. An account without positions may remove up to its collateral
// (else `insufficient_collateral`); one with positions needs
// V >= max(cross IM, transfer_floor * cross notional) afterwards (else `insufficient_margin`).
Reason debit_for_removal(TxContext& ctx, AccountRecord& account, int64_t amount_usd);

}  // namespace clearnode
