#include "clearing/margin.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace clearnode {

int64_t notional_usd(int64_t size_lots, int64_t price, int32_t size_decimals, Rounding rounding) {
    assert(price > 0);
    const Wide size_magnitude = abs_wide(size_lots);
    const Wide product = size_magnitude * price;
    const Wide unit = pow10(size_decimals);
    return narrow(rounding == Rounding::up ? div_ceil(product, unit) : div_floor(product, unit));
}

// upnl = signed_notional(size, mark) - cost, rounded toward minus infinity.
int64_t upnl_usd(int64_t size_lots, int64_t cost_usd, int64_t mark_price, int32_t size_decimals) {
    const Wide signed_notional = div_floor(Wide(size_lots) * mark_price, Wide(pow10(size_decimals)));
    return narrow(signed_notional - cost_usd);
}

// owed = size * (index_now - index_then) / 10^(9+d), rounded up (RULES §8).
int64_t funding_owed_usd(int64_t size_lots, const Wide& position_index, const Wide& market_index, int32_t size_decimals) {
    if (size_lots == 0) return 0;
    const Wide delta = market_index - position_index;
    return narrow(div_ceil(Wide(size_lots) * delta, Wide(pow10(9 + size_decimals))));
}

size_t tier_index(const std::vector<MarginTier>& tiers, int64_t notional_usd) {
    assert(!tiers.empty() && tiers[0].notional_floor_usd == 0);
    size_t tier = 0;
    for (size_t i = 1; i < tiers.size(); ++i)
        if (tiers[i].notional_floor_usd <= notional_usd) tier = i;
    return tier;
}

// mmr(n) = 1e6 / (2 * max_leverage(n)) ppm, rounded up.
int64_t maintenance_rate_ppm(uint32_t max_leverage) {
    assert(max_leverage >= 1);
    return narrow(div_ceil(Wide(ppm_one), Wide(2) * max_leverage));
}

// ded(n) = ded(n-1) + floor(n) * (mmr(n) - mmr(n-1)) / 1e6, each step rounded down.
int64_t maintenance_deduction_usd(const std::vector<MarginTier>& tiers, size_t tier) {
    assert(tier < tiers.size());
    int64_t deduction = 0;
    for (size_t n = 1; n <= tier; ++n) {
        const int64_t rate_step = maintenance_rate_ppm(tiers[n].max_leverage) - maintenance_rate_ppm(tiers[n - 1].max_leverage);
        deduction = checked_add(deduction, mul_div_floor(tiers[n].notional_floor_usd, rate_step, ppm_one));
    }
    return deduction;
}

// MM = ceil(notional * mmr(tier) / 1e6) - ded(tier).
int64_t maintenance_margin_usd(const std::vector<MarginTier>& tiers, int64_t notional_usd) {
    assert(notional_usd >= 0);
    const size_t tier = tier_index(tiers, notional_usd);
    const int64_t gross = mul_div_ceil(notional_usd, maintenance_rate_ppm(tiers[tier].max_leverage), ppm_one);
    return checked_sub(gross, maintenance_deduction_usd(tiers, tier));
}

uint32_t leverage_setting(uint32_t stored, const std::vector<MarginTier>& tiers, const Params& params) {
    if (stored != 0) return stored;
    return std::min(params.default_leverage, tiers[0].max_leverage);
}

uint32_t effective_leverage(uint32_t stored, const std::vector<MarginTier>& tiers, int64_t notional_usd,
                            const Params& params) {
    return std::min(leverage_setting(stored, tiers, params), tiers[tier_index(tiers, notional_usd)].max_leverage);
}

// IM = ceil(notional / min(leverage, max_leverage(tier))).
int64_t initial_margin_usd(int64_t notional_usd, uint32_t leverage) {
    assert(leverage >= 1 && notional_usd >= 0);
    return narrow(div_ceil(Wide(notional_usd), Wide(leverage)));
}

int64_t transfer_requirement_usd(int64_t initial_margin_usd, int64_t notional_usd, int64_t transfer_floor_ppm) {
    return std::max(initial_margin_usd, mul_div_ceil(notional_usd, transfer_floor_ppm, ppm_one));
}

PositionMargin position_margin(const MarketPosition& position, const MarketRecord& market, const Params& params) {
    assert(position.market == market.symbol);
    PositionMargin f;
    const int32_t d = market.size_decimals;
    f.notional_usd = notional_usd(position.size_lots, market.mark_price, d, Rounding::up);
    f.tier = tier_index(market.tiers, f.notional_usd);
    f.leverage = effective_leverage(position.leverage, market.tiers, f.notional_usd, params);
    f.upnl_usd = upnl_usd(position.size_lots, position.cost_usd, market.mark_price, d);
    f.funding_owed_usd = funding_owed_usd(position.size_lots, position.funding_index, market.funding_index, d);
    f.initial_margin_usd = initial_margin_usd(f.notional_usd, f.leverage);
    f.maintenance_margin_usd = maintenance_margin_usd(market.tiers, f.notional_usd);
    f.value_usd = checked_sub(f.upnl_usd, f.funding_owed_usd);
    if (position.mode == MarginMode::isolated) f.value_usd = checked_add(f.value_usd, position.isolated_margin_usd);
    return f;
}

AccountMargin account_margin(const AccountRecord& account, const MarketBook& book, const Params& params) {
    AccountMargin f;
    f.value_usd = account.collateral_usd;
    for (const auto& position : account.markets) {
        if (position.size_lots == 0 || position.mode != MarginMode::cross) continue;
        const auto market = book.find(position.market);
        assert(market != book.end());
        const PositionMargin p = position_margin(position, market->second, params);
        f.value_usd = checked_add(f.value_usd, p.value_usd);
        f.initial_margin_usd = checked_add(f.initial_margin_usd, p.initial_margin_usd);
        f.maintenance_margin_usd = checked_add(f.maintenance_margin_usd, p.maintenance_margin_usd);
        f.notional_usd = checked_add(f.notional_usd, p.notional_usd);
        f.has_cross_position = true;
    }
    f.transfer_requirement_usd = transfer_requirement_usd(f.initial_margin_usd, f.notional_usd, params.transfer_floor_ppm);
    return f;
}

namespace {

// The price P at which V(P) = MM(P) if the position stays in tier n, every other price fixed.
// With q = |size| / 10^d, s = side, l = mmr(n) / 1e6, and V, K (the other cross positions' MM)
// taken at the current mark m:
//   V(P)  = V + s*q*(P - m)            MM(P) = K + q*l*P - ded(n)
//   V(P) = MM(P)  <=>  P = (K - ded(n) - V + s*q*m) / (q * (s - l))
// which is mark - s * (V - MM) / q / (1 - s*l) when n is the current tier: Hyperliquid's form.
// Multiplied through by 10^d * 1e6 so that it is one exact division.
Wide price_in_tier(int64_t size_lots, int32_t d, const std::vector<MarginTier>& tiers, size_t n, int64_t mark,
                   int64_t value_usd, int64_t other_mm_usd) {
    const int64_t side = size_lots > 0 ? 1 : -1;
    const Wide numerator =
        ((Wide(other_mm_usd) - maintenance_deduction_usd(tiers, n) - value_usd) * pow10(d) + Wide(size_lots) * mark) * ppm_one;
    const Wide size_magnitude = abs_wide(size_lots);
    const Wide denominator = size_magnitude * (Wide(side) * ppm_one - maintenance_rate_ppm(tiers[n].max_leverage));
    // Into the liquidatable side: a long is liquidatable below the price, a short above it.
    return side > 0 ? div_floor(numerator, denominator) : div_ceil(numerator, denominator);
}

size_t tier_at_price(int64_t size_lots, int32_t d, const std::vector<MarginTier>& tiers, const Wide& price) {
    const Wide size_magnitude = abs_wide(size_lots);
    const Wide notional = div_ceil(size_magnitude * price, Wide(pow10(d)));
    size_t tier = 0;
    for (size_t i = 1; i < tiers.size(); ++i)
        if (notional >= tiers[i].notional_floor_usd) tier = i;
    return tier;
}

}  // namespace

std::optional<int64_t> liquidation_price(const AccountRecord& account, const MarketPosition& position,
                                         const MarketBook& book, const Params& params) {
    if (position.size_lots == 0) return std::nullopt;
    const MarketRecord& market = book.at(position.market);
    const PositionMargin own = position_margin(position, market, params);
    int64_t value_usd = own.value_usd;
    int64_t other_mm_usd = 0;
    if (position.mode == MarginMode::cross) {
        const AccountMargin cross = account_margin(account, book, params);
        value_usd = cross.value_usd;
        other_mm_usd = cross.maintenance_margin_usd - own.maintenance_margin_usd;
    }
    // V - MM is monotonic in the price (V moves by q per unit, MM by q*l < q), so exactly one
    // tier holds the crossing: start in the current tier and follow the tier the solution lands
    // in. Rounding at a tier floor can make it alternate; the bound stops that, and either
    // answer is then the floor itself to within the rounding.
    size_t tier = own.tier;
    Wide price = 0;
    for (size_t step = 0; step <= market.tiers.size(); ++step) {
        price = price_in_tier(position.size_lots, market.size_decimals, market.tiers, tier, market.mark_price, value_usd,
                              other_mm_usd);
        if (price <= 0 || price > std::numeric_limits<int64_t>::max()) return std::nullopt;
        const size_t landed = tier_at_price(position.size_lots, market.size_decimals, market.tiers, price);
        if (landed == tier) break;
        tier = landed;
    }
    return static_cast<int64_t>(price);
}

bool cross_liquidatable(const AccountMargin& figures) {
    return figures.has_cross_position && figures.value_usd < figures.maintenance_margin_usd;
}

bool isolated_liquidatable(const PositionMargin& figures) {
    return figures.notional_usd > 0 && figures.value_usd < figures.maintenance_margin_usd;
}

bool holds_positions(const AccountRecord& account) {
    return std::any_of(account.markets.begin(), account.markets.end(),
                       [](const MarketPosition& p) { return p.size_lots != 0; });
}

bool raises_exposure(int64_t size_lots, int64_t delta_lots) {
    assert(delta_lots != 0);
    if (size_lots == 0 || (size_lots > 0) == (delta_lots > 0)) return true;
    // Opposite sides: a flip when the delta is larger than the position.
    return abs_wide(delta_lots) > abs_wide(size_lots);
}

MarketBook load_book(const RecordReader& view, const AccountRecord& account) {
    MarketBook book;
    for (const auto& position : account.markets) {
        auto market = load_market(view, position.market);
        if (!market) throw StorageError("an account holds an entry in unknown market " + position.market);
        book.emplace(position.market, std::move(*market));
    }
    return book;
}

Reason debit_for_removal(TxContext& ctx, AccountRecord& account, int64_t amount_usd) {
    assert(amount_usd > 0);
    if (!holds_positions(account)) {
        if (amount_usd > account.collateral_usd) return Reason::insufficient_collateral;
        account.collateral_usd -= amount_usd;
        return Reason::ok;
    }
    // afterwards V >= max(cross IM, transfer_floor * cross notional)
    const int64_t before_usd = account.collateral_usd;
    account.collateral_usd = checked_sub(account.collateral_usd, amount_usd);
    const AccountMargin after = account_margin(account, load_book(ctx.view, account), ctx.config.params);
    if (after.value_usd < after.transfer_requirement_usd) {
        account.collateral_usd = before_usd;
        return Reason::insufficient_margin;
    }
    return Reason::ok;
}

}  // namespace clearnode
