// What a chain is born with (RULES §3): authorities, parameters and markets, all fixed at
// genesis.
#pragma once

#include "ledger/tx.hpp"

#include <string>
#include <vector>

namespace clearnode {

// RULES §5: a position's tier is the last whose floor is at or below its notional.
struct MarginTier {
    int64_t notional_floor_usd = 0;
    uint32_t max_leverage = 1;
    bool operator==(const MarginTier&) const = default;
};

struct MarketSpec {
    std::string symbol;
    int32_t size_decimals = 0;
    int64_t price = 0;  // initial mark, usd per whole base unit
    std::vector<MarginTier> tiers;
    bool operator==(const MarketSpec&) const = default;
};

// RULES defaults; every one can be set in the genesis file.
struct Params {
    int64_t taker_fee_ppm = 450;
    int64_t maker_fee_ppm = 150;
    int64_t transfer_floor_ppm = 100'000;
    int64_t backstop_ratio_ppm = 666'667;
    int64_t partial_threshold_usd = 100'000'000'000;  // 100,000 USD
    int64_t partial_cooldown_ms = 30'000;
    int64_t partial_ppm = 200'000;
    int64_t liquidation_fee_ppm = 5'000;
    int64_t liquidator_share_ppm = 500'000;
    int64_t min_notional_usd = 10'000'000;  // 10 USD
    int64_t funding_rate_cap_ppb = 40'000'000;
    int64_t insurance_floor_usd = 0;
    uint32_t default_leverage = 20;
    bool operator==(const Params&) const = default;
};

struct Genesis {
    std::string chain_id;
    int64_t genesis_time_ms = 0;
    AccountId bridge{};
    AccountId oracle{};
    AccountId backstop{};
    Params params;
    int64_t insurance_fund_usd = 0;
    std::vector<MarketSpec> markets;
};

constexpr size_t markets_max = 256;
constexpr size_t tiers_max = 16;
constexpr size_t chain_id_length_max = 64;

// Empty when the genesis is consistent, else what is wrong with it.
std::string validate_genesis(const Genesis& genesis);

// The reference markets (BTC, ETH, SOL with Hyperliquid-like leverage tiers) of the demo genesis
// in fixtures/demo, the tests' chains and bench's: one definition, pinned against the fixture
// by a test.
std::vector<MarketSpec> reference_markets();

}  // namespace clearnode
