// RULES §4/§5 margin math as pure functions, pinned to numbers computed by hand.
#include "clearing/fills.hpp"
#include "clearing/margin.hpp"
#include "testkit.hpp"

using namespace clearnode;
using namespace clearnode::test;

namespace {
const std::vector<MarginTier> btc_tiers = {{0, 40}, {usd(150'000'000), 20}};
}  // namespace

TEST_CASE("maintenance rates and the deduction that keeps MM continuous") {
    CHECK(maintenance_rate_ppm(40) == 12'500);
    CHECK(maintenance_rate_ppm(20) == 25'000);
    CHECK(maintenance_rate_ppm(3) == 166'667);  // 1e6 / 6 rounded up
    CHECK(maintenance_rate_ppm(1) == 500'000);
    CHECK(maintenance_deduction_usd(btc_tiers, 0) == 0);
    // 150,000,000 * (0.025 - 0.0125)
    CHECK(maintenance_deduction_usd(btc_tiers, 1) == usd(1'875'000));
}

TEST_CASE("BTC maintenance margin at 200,000,000 USD notional is 3,125,000 USD") {
    CHECK(tier_index(btc_tiers, usd(200'000'000)) == 1);
    // 200,000,000 * 0.025 - 1,875,000 = 5,000,000 - 1,875,000
    CHECK(maintenance_margin_usd(btc_tiers, usd(200'000'000)) == usd(3'125'000));
}

TEST_CASE("at exactly 150,000,000 USD both tiers give the same maintenance margin") {
    const int64_t floor_usd = usd(150'000'000);
    CHECK(tier_index(btc_tiers, floor_usd) == 1);
    CHECK(tier_index(btc_tiers, floor_usd - 1) == 0);
    const int64_t tier0 = mul_div_ceil(floor_usd, maintenance_rate_ppm(40), ppm_one);
    const int64_t tier1 = mul_div_ceil(floor_usd, maintenance_rate_ppm(20), ppm_one) - maintenance_deduction_usd(btc_tiers, 1);
    CHECK(tier0 == usd(1'875'000));
    CHECK(tier1 == usd(1'875'000));
    CHECK(maintenance_margin_usd(btc_tiers, floor_usd) == usd(1'875'000));
    // One usd unit below the floor, tier 0 rounds up to the same figure: no jump either side.
    CHECK(maintenance_margin_usd(btc_tiers, floor_usd - 1) == usd(1'875'000));
    CHECK(maintenance_margin_usd(btc_tiers, floor_usd + 40) == usd(1'875'000) + 1);
}

TEST_CASE("MM is continuous and non-decreasing across every tier floor of a three-tier market") {
    const std::vector<MarginTier> tiers = {{0, 50}, {usd(1'000'000), 20}, {usd(7'777'777), 3}};
    for (size_t n = 1; n < tiers.size(); ++n) {
        const int64_t at = tiers[n].notional_floor_usd;
        const int64_t below = maintenance_margin_usd(tiers, at - 1);
        const int64_t on = maintenance_margin_usd(tiers, at);
        CHECK(on >= below);
        CHECK(on - below <= 1);  // continuous to the usd unit (the deduction rounds down)
    }
}

TEST_CASE("IM of 0.5 BTC at 65,000 with 10x is 3,250 USD") {
    const int64_t notional = notional_usd(50'000, usd(65'000), 5, Rounding::up);
    CHECK(notional == usd(32'500));
    CHECK(initial_margin_usd(notional, 10) == usd(3'250));
    CHECK(effective_leverage(10, btc_tiers, notional, Params{}) == 10);
    // The default: min(default_leverage 20, tier 0's 40); a tier-1 notional caps it at 20.
    CHECK(effective_leverage(0, btc_tiers, notional, Params{}) == 20);
    CHECK(effective_leverage(40, btc_tiers, usd(150'000'000), Params{}) == 20);
    CHECK(initial_margin_usd(usd(1) + 1, 40) == 25'001);  // rounded up
}

TEST_CASE("notional, upnl and funding round against the account") {
    // 1 lot of BTC (10^-5) at 65,000.000001: 0.65000000001 USD
    CHECK(notional_usd(1, usd(65'000) + 1, 5, Rounding::up) == 650'001);
    CHECK(notional_usd(-1, usd(65'000) + 1, 5, Rounding::down) == 650'000);
    // upnl of a short of 1 lot, cost -650,000 at mark 65,000.000001: -0.00000000001 -> -1 unit
    CHECK(upnl_usd(-1, -650'000, usd(65'000) + 1, 5) == -1);
    CHECK(upnl_usd(1, 650'000, usd(65'000) + 1, 5) == 0);
    // Index up by 65,000 USD * 125,000 ppb; a long of 0.5 BTC owes 32,500 * 0.000125 = 4.0625
    const Wide index = Wide(usd(65'000)) * 125'000;
    CHECK(funding_owed_usd(50'000, 0, index, 5) == 4'062'500);
    CHECK(funding_owed_usd(-50'000, 0, index, 5) == -4'062'500);
    // 1 lot: 0.00008125 USD. The payer pays 82 units, the receiver receives 81.
    CHECK(funding_owed_usd(1, 0, index, 5) == 82);
    CHECK(funding_owed_usd(-1, 0, index, 5) == -81);
    CHECK(funding_owed_usd(0, 0, index, 5) == 0);
}

TEST_CASE("transfer requirement: the larger of IM and 10% of notional") {
    CHECK(transfer_requirement_usd(usd(1'625), usd(32'500), 100'000) == usd(3'250));
    CHECK(transfer_requirement_usd(usd(32'500), usd(32'500), 100'000) == usd(32'500));
    CHECK(transfer_requirement_usd(0, 11, 100'000) == 2);
}

TEST_CASE("raises_exposure: opening, raising and flipping need IM; reducing and closing do not") {
    CHECK(raises_exposure(0, 5));
    CHECK(raises_exposure(0, -5));
    CHECK(raises_exposure(3, 2));
    CHECK(raises_exposure(-3, -2));
    CHECK_FALSE(raises_exposure(3, -2));
    CHECK_FALSE(raises_exposure(3, -3));
    CHECK(raises_exposure(3, -4));
    CHECK_FALSE(raises_exposure(-3, 3));
    CHECK(raises_exposure(-3, 4));
}

TEST_CASE("tick rule: 5 significant figures unless an integer, at most 6 - d decimals") {
    CHECK(on_tick(usd(65'000), 5));
    CHECK(on_tick(usd(123'456), 5));          // integers: any number of figures
    CHECK_FALSE(on_tick(65'000'100'000, 5));   // 65,000.1: 6 significant figures
    CHECK(on_tick(6'500'100'000, 5));          // 6,500.1
    CHECK_FALSE(on_tick(6'500'150'000, 5));    // 6,500.15: 6 figures
    CHECK(on_tick(150'120'000, 2));            // 150.12 SOL: 5 figures, 2 decimals (<= 4)
    CHECK_FALSE(on_tick(1'234'500, 5));        // 1.2345 BTC price: 4 decimals > 6 - 5
    CHECK(on_tick(1'200'000 + 100'000, 5));    // 1.3
    CHECK(price_tick(usd(65'000), 5) == usd(1));
    CHECK(price_tick(usd(650'000), 5) == usd(1));
    CHECK(price_tick(usd(6'500), 5) == 100'000);
    CHECK(price_tick(usd(150), 2) == 10'000);
    CHECK(price_tick(1'500'000, 2) == 100);
}

TEST_CASE("abs_wide is defined for every int64") {
    CHECK(abs_wide(INT64_MIN) == Wide(INT64_MAX) + 1);
    CHECK(abs_wide(-5) == 5);
    CHECK(abs_wide(7) == 7);
}
