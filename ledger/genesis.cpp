#include "ledger/genesis.hpp"

#include "ledger/units.hpp"

#include <set>

namespace clearnode {

namespace {
std::string validate_market(const MarketSpec& m) {
    if (m.symbol.empty() || m.symbol.size() > symbol_length_max) return "market symbol must have 1 to 16 characters";
    for (char c : m.symbol)
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return "market symbol " + m.symbol + " may hold only A-Z, 0-9, '-' and '_'";
    if (m.size_decimals < 0 || m.size_decimals > size_decimals_max) return m.symbol + ": size_decimals must be in [0, 8]";
    if (m.price <= 0) return m.symbol + ": price must be positive";
    if (m.tiers.empty() || m.tiers.size() > tiers_max) return m.symbol + ": needs 1 to 16 margin tiers";
    if (m.tiers[0].notional_floor_usd != 0) return m.symbol + ": the first tier's notional_floor must be 0";
    for (size_t i = 0; i < m.tiers.size(); ++i) {
        if (m.tiers[i].max_leverage < 1 || m.tiers[i].max_leverage > 1000) return m.symbol + ": max_leverage must be in [1, 1000]";
        if (i == 0) continue;
        if (m.tiers[i].notional_floor_usd <= m.tiers[i - 1].notional_floor_usd) return m.symbol + ": tier floors must rise";
        if (m.tiers[i].max_leverage > m.tiers[i - 1].max_leverage) return m.symbol + ": max_leverage may not rise with the tier";
    }
    return {};
}

std::string validate_params(const Params& p) {
    auto ratio = [](int64_t v) { return v >= 0 && v <= ppm_one; };
    if (!ratio(p.taker_fee_ppm) || !ratio(p.maker_fee_ppm) || !ratio(p.transfer_floor_ppm) ||
        !ratio(p.backstop_ratio_ppm) || !ratio(p.partial_ppm) || !ratio(p.liquidation_fee_ppm) ||
        !ratio(p.liquidator_share_ppm))
        return "params: every *_ppm must be in [0, 1000000]";
    if (p.partial_ppm == 0) return "params: partial_ppm must be positive";
    if (p.partial_threshold_usd < 0 || p.min_notional_usd < 0 || p.insurance_floor_usd < 0) return "params: usd amounts must not be negative";
    if (p.partial_cooldown_ms < 0) return "params: partial_cooldown_ms must not be negative";
    if (p.funding_rate_cap_ppb < 0 || p.funding_rate_cap_ppb > ppb_one) return "params: funding_rate_cap_ppb must be in [0, 1000000000]";
    if (p.default_leverage < 1) return "params: default_leverage must be at least 1";
    return {};
}
}  // namespace

std::string validate_genesis(const Genesis& g) {
    if (g.chain_id.empty() || g.chain_id.size() > chain_id_length_max) return "chain_id must have 1 to 64 characters";
    if (auto e = validate_params(g.params); !e.empty()) return e;
    if (g.insurance_fund_usd < g.params.insurance_floor_usd) return "insurance_fund must be at least params.insurance_floor";
    if (g.markets.size() > markets_max) return "at most 256 markets";
    std::set<std::string> symbols;
    for (const auto& m : g.markets) {
        if (auto e = validate_market(m); !e.empty()) return e;
        if (!symbols.insert(m.symbol).second) return "market " + m.symbol + " is listed twice";
    }
    return {};
}

std::vector<MarketSpec> reference_markets() {
    return {
        {"BTC", 5, 65'000 * usd_one, {{0, 40}, {150'000'000 * usd_one, 20}}},
        {"ETH", 4, 3'200 * usd_one, {{0, 25}, {100'000'000 * usd_one, 15}}},
        {"SOL", 2, 150 * usd_one, {{0, 20}, {70'000'000 * usd_one, 10}}},
    };
}

}  // namespace clearnode
