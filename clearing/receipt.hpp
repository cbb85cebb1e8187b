// What the engine reports for each transaction: a stable reason code (RULES §6) and the
// events of an accepted transaction, in the order they happened.
#pragma once

#include "crypto/crypto.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace clearnode {

// Stable codes: the names are a user-facing contract; append, never renumber.
enum class Reason : uint8_t {
    ok,
    bad_signature,
    not_authorized,
    nonce_used,
    unknown_account,
    bad_amount,
    overflow,
    insufficient_collateral,
    insufficient_margin,
    unknown_market,
    self_trade,
    tick,
    maker_size,
    price_limit,
    reduce_only,
    min_notional,
    leverage_too_high,
    mode_locked,
    no_isolated_position,
    not_liquidatable,
    self_liquidation,
    liquidator_margin,
    needs_adl,
    adl_not_allowed,  // the last: a new reason goes after it, and reason_last names it
};
// The highest code: a stored status above it is not a reason (the block log's receipts).
constexpr Reason reason_last = Reason::adl_not_allowed;

const char* reason_name(Reason reason);

// Whether a transaction whose receipt says `status` spent its signer's nonce: it did unless
// RULES §6's checks before the rules (signature, authority, nonce) refused it, for such a
// refusal changes nothing at all. One that spent its nonce can never pass the nonce check
// again; one that did not may, when it is sent again (RULES §6; I5 checks both in the tests).
constexpr bool spends_nonce(Reason status) {
    return status != Reason::bad_signature && status != Reason::not_authorized && status != Reason::nonce_used &&
           status != Reason::unknown_account;
}

// A field's value as the engine computed it: text, an account id or a fixed-point amount.
// text() is what receipts show (lowercase hex for ids, decimal strings for amounts). Ids and
// amounts are formatted only when shown: a block builds its events on the one thread that
// applies, and replay, the bench and an embedding venue may never show them (docs/DESIGN.md,
// "Events carry values", has the figures).
class EventValue {
public:
    // An amount of `value` units of 10^-decimals (format_units).
    struct Units {
        int64_t value = 0;
        int decimals = 0;
        bool operator==(const Units&) const = default;
    };

    EventValue(std::string text) : value_(std::move(text)) {}
    EventValue(const char* text) : value_(std::string(text)) {}
    EventValue(const PublicKey& id) : value_(id) {}
    EventValue(Units amount) : value_(amount) {}
    static EventValue usd(int64_t amount_usd);

    std::string text() const;
    // Appends text() to `out` (an id's hex without a string of its own).
    void append_text(std::string& out) const;
    // The value when it is text (which may need escaping where it is shown), else nullptr.
    const std::string* as_text() const { return std::get_if<std::string>(&value_); }
    // The value when it is an account id, else nullptr; the amount when it is one, else nullptr.
    const PublicKey* as_id() const { return std::get_if<PublicKey>(&value_); }
    const Units* as_units() const { return std::get_if<Units>(&value_); }

    // Same kind and same value. (A field has one kind and, for an amount, one scale, so two
    // values of a field are equal exactly when their text is.)
    bool operator==(const EventValue&) const = default;

private:
    std::variant<std::string, PublicKey, Units> value_;
};

// One movement: a kind ("deposit", "fill", "fee", ...) and named fields.
struct Event {
    // The fields' room is reserved at once (four, more where an event has more): growing one
    // at a time moved each field up to four times. `fields_expected` is only a hint: an event
    // with more fields grows as before.
    explicit Event(std::string event_kind, size_t fields_expected = 4) : kind(std::move(event_kind)) {
        fields.reserve(fields_expected);
    }
    std::string kind;
    std::vector<std::pair<std::string, EventValue>> fields;
    Event& with(std::string name, EventValue value) & {
        fields.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    // On a temporary, so that `events.push_back(Event{...}.with(...))` moves the event in
    // rather than copying each of its fields.
    Event&& with(std::string name, EventValue value) && {
        fields.emplace_back(std::move(name), std::move(value));
        return std::move(*this);
    }
};

struct Receipt {
    uint32_t index = 0;  // position among the block's transactions
    Hash32 tx_hash{};
    Reason status = Reason::ok;
    std::vector<Event> events;
};

}  // namespace clearnode
