#include "clearing/invariants.hpp"

#include "state/records.hpp"

#include <map>

namespace clearnode {

std::string check_invariants(const StateReader& state) {
    const ConfigRecord config = load_config(state);
    const ProtocolRecord protocol = load_protocol(state);
    // Sums in 128 bits: a sum of int64 values may exceed int64 even when every term fits.
    Wide held = Wide(protocol.insurance_fund_usd) + protocol.fee_pool_usd;
    std::map<std::string, Wide> size_sum;
    std::map<std::string, Wide> long_sum;
    std::map<std::string, int64_t> open_interest;
    for (const auto& m : load_markets(state)) {
        held += m.funding_pool_usd;
        size_sum[m.symbol] = 0;
        long_sum[m.symbol] = 0;
        open_interest[m.symbol] = m.open_interest_lots;
    }
    std::string problem;
    state.scan(keys::account_prefix, [&](std::string_view key, std::string_view value) {
        const AccountRecord account = decode_account(value);
        held += account.collateral_usd;
        bool has_position = false;
        for (const auto& p : account.markets) {
            if (!size_sum.count(p.market)) {
                problem = "an account holds an entry in unknown market " + p.market;
                return false;
            }
            held += p.isolated_margin_usd;
            held -= p.cost_usd;
            size_sum[p.market] += p.size_lots;
            if (p.size_lots > 0) long_sum[p.market] += p.size_lots;
            if (p.size_lots != 0) has_position = true;
            if (p.size_lots == 0 && p.cost_usd != 0) {
                problem = "I2: a closed position in " + p.market + " keeps a cost";
                return false;
            }
            if (p.isolated_margin_usd < 0) {
                problem = "I3: negative isolated margin in " + p.market;
                return false;
            }
        }
        if (!has_position && account.collateral_usd < 0) {
            problem = "I3: account " + to_hex(as_bytes(key.substr(keys::account_prefix.size()))) +
                      " holds no position and negative collateral";
            return false;
        }
        return true;
    });
    if (!problem.empty()) return problem;
    for (const auto& [symbol, sum] : size_sum) {
        if (sum != 0) return "I1: sizes in " + symbol + " sum to " + sum.str() + ", not 0";
        if (long_sum[symbol] != open_interest[symbol])
            return "open interest of " + symbol + " is " + std::to_string(open_interest[symbol]) + " but longs hold " + long_sum[symbol].str();
    }
    const Wide net_deposits = Wide(protocol.deposits_total_usd) - protocol.withdrawals_total_usd;
    if (held != net_deposits)
        return "I2: balances less cost sum to " + held.str() + " but deposits less withdrawals are " + net_deposits.str();
    if (protocol.insurance_fund_usd < config.params.insurance_floor_usd) return "I3: insurance fund below its floor";
    if (config.params.insurance_floor_usd < 0) return "I3: negative insurance floor";
    return {};
}

StateSnapshot state_snapshot(const StateReader& state) {
    StateSnapshot out;
    const std::string chain_key = keys::chain();
    state.scan("", [&](std::string_view k, std::string_view v) {
        if (is_state_key(k) && k != chain_key) out.emplace(k, v);
        return true;
    });
    return out;
}

namespace {

// What the signer's window entry must hold after a rejection that spends `tx.nonce`: the entry
// before it (the account, or the bridge's or oracle's own window entry), with that nonce used.
std::string window_entry_after_spend(const StateSnapshot& before, const Tx& tx, std::string& key, std::string& value) {
    auto config = before.find(keys::config());
    if (config == before.end()) return "I5: no config entry";
    const bool in_account = window_in_account(decode_config(config->second), tx.signer);
    key = in_account ? keys::account(tx.signer) : keys::nonces(tx.signer);
    auto was = before.find(key);
    if (in_account && was == before.end()) return "I5: a rejection after the nonce check from an id without an account";
    AccountRecord account = in_account ? decode_account(was->second) : AccountRecord{};
    NonceWindow& window = account.nonces;
    if (!in_account && was != before.end()) window = decode_nonces(was->second);
    if (!window.accepts(tx.nonce)) return "I5: a rejection after the nonce check with a used nonce";
    window.use(tx.nonce);
    value = in_account ? encode(account) : encode(window);
    return {};
}

}  // namespace

std::string check_rejection(const StateSnapshot& before, const StateSnapshot& after, const Tx& tx, Reason status) {
    if (status == Reason::ok) return {};
    StateSnapshot expected = before;
    if (spends_nonce(status)) {
        std::string key, value;
        if (auto problem = window_entry_after_spend(before, tx, key, value); !problem.empty()) return problem;
        auto it = after.find(key);
        if (it == after.end() || it->second != value)
            return "I5: a rejection after the nonce check must spend the nonce in the signer's window, and change nothing else there";
        expected[key] = value;
    }
    if (expected == after) return {};
    for (const auto& [k, v] : after) {
        auto it = expected.find(k);
        if (it == expected.end() || it->second != v)
            return std::string("I5: rejected (") + reason_name(status) + ") but entry " + to_hex(as_bytes(k)) + " changed";
    }
    for (const auto& [k, v] : expected)
        if (!after.count(k)) return std::string("I5: rejected (") + reason_name(status) + ") but entry " + to_hex(as_bytes(k)) + " vanished";
    return "I5: the state changed";
}

}  // namespace clearnode
