#include "clearing/margin.hpp"

#include <algorithm>

namespace clearnode {

bool holds_positions(const AccountRecord& account) {
    return std::any_of(account.markets.begin(), account.markets.end(),
                       [](const MarketPosition& p) { return p.size_lots != 0; });
}

Reason debit_for_removal(TxContext& ctx, AccountRecord& account, int64_t amount_usd) {
    (void)ctx;
    if (!holds_positions(account)) {
        if (amount_usd > account.collateral_usd) return Reason::insufficient_collateral;
        account.collateral_usd -= amount_usd;
        return Reason::ok;
    }
    // Positions arrive with fills (the markets issue); until then no account holds one.
    return Reason::insufficient_margin;
}

}  // namespace clearnode
