#include "clearing/transfers.hpp"

#include "clearing/margin.hpp"
#include "ledger/units.hpp"

namespace clearnode {
namespace {

// A positive usd amount, or the reason it is not one.
UnitsOrReason positive_usd(const DecimalText& amount) {
    UnitsOrReason parsed = units_for_rule(amount.text, usd_decimals);
    if (parsed.reason == Reason::ok && parsed.value <= 0) parsed.reason = Reason::bad_amount;
    return parsed;
}

// Changes the account in place: a hot recipient's record is not copied twice. A deposit or
// transfer to an id without an account opens one.
void credit(TxContext& ctx, const AccountId& id, int64_t amount_usd) {
    AccountRecord* account = ctx.view.account_to_change(id);
    if (account == nullptr) {
        AccountRecord opened;
        opened.collateral_usd = amount_usd;
        save(ctx.view, id, std::move(opened));
        return;
    }
    account->collateral_usd = checked_add(account->collateral_usd, amount_usd);
}

}  // namespace

Reason apply_deposit(TxContext& ctx, const Deposit& tx) {
    const UnitsOrReason amount = positive_usd(tx.amount);
    if (amount.reason != Reason::ok) return amount.reason;
    credit(ctx, tx.account, amount.value);
    ProtocolRecord protocol = load_protocol(ctx.view);
    protocol.deposits_total_usd = checked_add(protocol.deposits_total_usd, amount.value);
    save(ctx.view, protocol);
    ctx.events.push_back(Event{"deposit"}.with("account", tx.account).with("amount", EventValue::usd(amount.value)));
    return Reason::ok;
}

Reason apply_withdraw(TxContext& ctx, const Withdraw& tx) {
    const UnitsOrReason amount = positive_usd(tx.amount);
    if (amount.reason != Reason::ok) return amount.reason;
    AccountRecord account = load_account(ctx.view, ctx.signer).value();
    if (Reason r = debit_for_removal(ctx, account, amount.value); r != Reason::ok) return r;
    save(ctx.view, ctx.signer, std::move(account));
    ProtocolRecord protocol = load_protocol(ctx.view);
    protocol.withdrawals_total_usd = checked_add(protocol.withdrawals_total_usd, amount.value);
    save(ctx.view, protocol);
    ctx.events.push_back(Event{"withdraw"}.with("account", ctx.signer).with("amount", EventValue::usd(amount.value)));
    return Reason::ok;
}

Reason apply_transfer(TxContext& ctx, const Transfer& tx) {
    const UnitsOrReason amount = positive_usd(tx.amount);
    if (amount.reason != Reason::ok) return amount.reason;
    AccountRecord account = load_account(ctx.view, ctx.signer).value();
    if (Reason r = debit_for_removal(ctx, account, amount.value); r != Reason::ok) return r;
    save(ctx.view, ctx.signer, std::move(account));
    credit(ctx, tx.to, amount.value);
    ctx.events.push_back(Event{"transfer"}
                             .with("from", ctx.signer)
                             .with("to", tx.to)
                             .with("amount", EventValue::usd(amount.value)));
    return Reason::ok;
}

}  // namespace clearnode
