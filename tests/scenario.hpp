// The seeded scenario generator that property tests, fuzz targets, the golden fixtures and
// benchmarks share (RULES §10): accounts, deposits, withdrawals, transfers, price walks and
// shocks, funding, leverage and isolated margin, fills between random traders, keepers that
// liquidate and deleverage, and transactions that are wrong on purpose (bad signatures, replays, over-withdrawals, unknown accounts and
// markets, unauthorised signers, amounts that are zero, negative, too precise or beyond int64).
//
// Determinism: every choice comes from a `Choices` source, either our own integer PRNG
// (splitmix64 seeding xoshiro256**, never std::*_distribution whose output is
// implementation-defined) or a fuzzer's bytes. The generator reads the committed state at the
// start of each block to aim its amounts; since the engine is deterministic, the same seed
// gives the same blocks on every machine (pinned by fixtures/golden/).
//
// Every choice is drawn in a statement of its own (or inside one braced initialiser, which
// C++ evaluates left to right): the order in which a function's arguments are evaluated is
// unspecified, and g++ and clang++ do differ (two choices in one call's arguments made the
// same seed give other blocks under clang++; the pinned hash in property_test.cpp catches it).
//
// This library does not depend on doctest, so that fuzz targets and tools can link it.
#pragma once

#include "ledger/genesis.hpp"
#include "ledger/tx.hpp"
#include "state/store.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace clearnode::test {

// The key pair of a name: seed = BLAKE2b-256(name). The same on every machine.
KeyPair key(std::string_view name);
AccountId id(std::string_view name);

// BTC (5 decimals; 40x, 20x from 150M), ETH (4; 25x, 15x from 100M), SOL (2; 20x, 10x from
// 70M); authorities "bridge", "oracle", "backstop"; insurance fund 1,000,000 USD.
Genesis demo_genesis();
// The demo genesis with an insurance fund of 2,000 USD, so that bankrupt accounts exhaust it
// and ADL runs.
Genesis lean_genesis();

// Where the generator's choices come from.
class Choices {
public:
    virtual ~Choices() = default;
    virtual uint64_t next() = 0;
    // Uniform in [0, n) for n >= 1, by rejection (no modulo bias, no floating point).
    uint64_t below(uint64_t n);
    // Uniform in [lo, hi].
    int64_t between(int64_t lo, int64_t hi);
    // True with probability per_mille / 1000.
    bool chance(uint32_t per_mille) { return below(1000) < per_mille; }
};

// xoshiro256** seeded through splitmix64 (Vigna): fast, 2^256 - 1 period, and defined bit
// for bit by its integer operations alone.
class Rng final : public Choices {
public:
    explicit Rng(uint64_t seed);
    uint64_t next() override;

private:
    uint64_t s_[4];
};

// A fuzzer's input as choices: 8 bytes a choice, zeroes once the input is used up.
class ByteChoices final : public Choices {
public:
    ByteChoices(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    uint64_t next() override;
    bool exhausted() const { return pos_ >= size_; }

private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
};

struct ScenarioConfig {
    size_t traders = 12;            // accounts "trader-0" ...; funded over time by deposits
    size_t block_txs_max = 40;      // each block holds 1..block_txs_max transactions
    uint32_t invalid_per_mille = 200;  // share of transactions that are wrong on purpose
    uint32_t wild_per_mille = 5;       // share of amounts drawn from all of int64
    // Prices, funding, leverage, isolated margin, fills between random parties, keepers that
    // liquidate and deleverage. Off, the generator draws exactly the choices it drew before
    // these types existed (deposits, withdrawals, transfers and wrong transactions only).
    bool markets = true;
};

class Scenario {
public:
    Scenario(Choices& choices, Genesis genesis, ScenarioConfig config = {});

    // The next block: height and time follow the previous one's (time may stand still), its
    // transactions aimed at `committed`, the state after the previous block.
    Block next_block(const StateReader& committed);

    const Genesis& genesis() const { return genesis_; }

private:
    Tx next_tx(const StateReader& state);
    Tx valid_tx(const StateReader& state);
    Tx invalid_tx(const StateReader& state);
    Tx market_tx(const StateReader& state);
    Tx price_tx(const StateReader& state);
    Tx open_tx(const StateReader& state, const MarketSpec& spec, int64_t mark);
    uint64_t take_nonce(std::string_view signer);
    Tx make(std::string_view signer, TxBody body);
    Tx sign_as(Tx tx, std::string_view signer, std::string_view chain_id) const;
    const std::string& trader();
    int64_t collateral_of(const StateReader& state, const std::string& name) const;
    std::string usd_text(int64_t amount_usd);
    std::string amount_up_to(int64_t limit_usd);
    int64_t wild_or(int64_t amount_usd);

    Choices& choices_;
    Genesis genesis_;
    ScenarioConfig config_;
    std::vector<std::string> traders_;
    std::map<std::string, KeyPair, std::less<>> keys_;
    std::map<std::string, uint64_t, std::less<>> next_nonce_;
    std::deque<Tx> recent_;  // replay candidates
    uint64_t height_ = 0;
    int64_t time_ms_ = 0;
};

// A block as a block file (RULES §11, README "Block file"): the header line, then one
// transaction a line.
std::string block_to_text(const Block& block);

}  // namespace clearnode::test
