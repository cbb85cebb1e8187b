// Shared test scaffolding: deterministic keys, a demo genesis, signed transaction builders
// and a chain that checks RULES §10 I1-I3 after every transaction and I5 after each rejection.
#pragma once

#include "clearing/engine.hpp"
#include "clearing/invariants.hpp"
#include "clearing/margin.hpp"
#include "ledger/codec.hpp"
#include "ledger/units.hpp"
#include "scenario.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <string_view>

namespace clearnode::test {

// key(), id() and demo_genesis() live in scenario.hpp, shared with the fuzz targets.

// Every state entry but the block bookkeeping ("chain", "~commitment").
inline StateSnapshot snapshot(const StateReader& state) { return state_snapshot(state); }

class Chain {
public:
    explicit Chain(Genesis genesis = demo_genesis());

    // A transaction of `signer_name`, signed, with that signer's next nonce.
    Tx make(std::string_view signer_name, TxBody body);
    // Signs `tx` again with the key of `signer_name` (for a chain id other than ours with
    // `chain_id`).
    Tx resign(Tx tx, std::string_view signer_name, std::string_view chain_id = {}) const;
    MakerOrder order(std::string_view maker_name, std::string_view market, Side side, std::string size,
                     std::string limit, bool reduce_only = false);

    Tx deposit(std::string_view to, std::string amount);
    Tx withdraw(std::string_view who, std::string amount);
    Tx transfer(std::string_view from, std::string_view to, std::string amount);
    Tx price(std::vector<MarketPrice> prices);
    Tx funding(std::vector<MarketRate> rates);
    Tx set_leverage(std::string_view who, std::string market, uint32_t leverage, MarginMode mode = MarginMode::cross);
    Tx transfer_margin(std::string_view who, std::string market, std::string amount);
    Tx open(std::string_view taker, std::string market, Side side, std::string size, std::string price, MakerOrder maker);
    Tx liquidate(std::string_view keeper, std::string_view target, std::string market);
    Tx adl(std::string_view keeper, std::string_view target, std::string market);

    // Applies `tx` as a block of its own and checks I1-I3, and I5 when it is rejected.
    Receipt apply(const Tx& tx);
    // Applies a block and checks I1-I3 after it.
    BlockResult apply_block(const std::vector<Tx>& txs, int64_t time_step_ms = 1000);

    std::optional<AccountRecord> account(std::string_view name) const;
    int64_t collateral(std::string_view name) const;  // 0 when the account does not exist
    MarketRecord market(std::string_view symbol) const;
    ProtocolRecord protocol() const;
    // The account's entry in `market` (a default one when it has none).
    MarketPosition position(std::string_view name, std::string_view market) const;
    // RULES §4/§5 figures of the account's cross side and of one position, at the current marks.
    AccountMargin margin(std::string_view name) const;
    PositionMargin position_margin(std::string_view name, std::string_view market) const;
    const StateReader& state() const { return store; }

    Genesis genesis;
    MemoryStore store;
    std::unique_ptr<Engine> engine;
    int64_t time_ms;

private:
    std::map<std::string, uint64_t, std::less<>> next_nonce_;
    uint64_t next_nonce(std::string_view name);
};

// Whole USD in usd units.
constexpr int64_t usd(int64_t whole) { return whole * usd_one; }

// `taker` buys (or sells) `size` at `price` against a fresh order of `maker` limited at `price`.
Receipt trade(Chain& c, std::string_view taker, Side side, std::string_view maker, std::string market,
              std::string size, std::string price);
// The oracle sets one market's mark.
Receipt set_price(Chain& c, std::string market, std::string price);

// "ok" or the reason code, for readable CHECKs.
inline std::string status(const Receipt& r) { return reason_name(r.status); }

}  // namespace clearnode::test
