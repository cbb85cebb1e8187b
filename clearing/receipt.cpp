#include "clearing/receipt.hpp"

#include "ledger/units.hpp"

#include <iterator>

namespace clearnode {

const char* reason_name(Reason reason) {
    static constexpr const char* names[] = {
        "ok",           "bad_signature",   "not_authorized",    "nonce_used",          "unknown_account",
        "bad_amount",   "overflow",        "insufficient_collateral", "insufficient_margin", "unknown_market",
        "self_trade",   "tick",            "maker_size",        "price_limit",         "reduce_only",
        "min_notional", "leverage_too_high", "mode_locked",     "no_isolated_position", "not_liquidatable",
        "self_liquidation", "liquidator_margin", "needs_adl",   "adl_not_allowed",
    };
    static_assert(std::size(names) == static_cast<size_t>(reason_last) + 1);
    return names[static_cast<size_t>(reason)];
}

EventValue EventValue::usd(int64_t amount_usd) { return Units{amount_usd, usd_decimals}; }

std::string EventValue::text() const {
    std::string out;
    append_text(out);
    return out;
}

void EventValue::append_text(std::string& out) const {
    if (const auto* text = std::get_if<std::string>(&value_)) out += *text;
    else if (const auto* id = std::get_if<PublicKey>(&value_)) append_hex(out, *id);
    else {
        const auto& amount = std::get<Units>(value_);
        out += format_units(amount.value, amount.decimals);
    }
}

}  // namespace clearnode
