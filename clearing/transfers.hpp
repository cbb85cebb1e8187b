// Collateral in and out of the clearinghouse and between accounts (RULES §6): deposit,
// withdraw, transfer.
#pragma once

#include "clearing/context.hpp"
#include "ledger/tx.hpp"

namespace clearnode {

Reason apply_deposit(TxContext& ctx, const Deposit& tx);
Reason apply_withdraw(TxContext& ctx, const Withdraw& tx);
Reason apply_transfer(TxContext& ctx, const Transfer& tx);

}  // namespace clearnode
