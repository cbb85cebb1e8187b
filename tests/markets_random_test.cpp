// A seeded random walk through the markets: many accounts open, raise, reduce, flip and close
// positions (cross and isolated) while prices move and funding is paid. Chain::apply checks
// RULES §10 I1-I3 from scratch after every step (I5 after every rejection); this test also
// recomputes I1 and I2 itself, so that a broken checker cannot hide a broken engine.
#include "clearing/fills.hpp"
#include "testkit.hpp"

#include <random>

using namespace clearnode;
using namespace clearnode::test;

namespace {

struct Totals {
    std::map<std::string, Wide> size_sum;
    Wide held = 0;  // I2's left-hand side
};

Totals recompute(const Chain& c, const std::vector<std::string>& names, const std::vector<std::string>& markets) {
    Totals t;
    const ProtocolRecord p = c.protocol();
    t.held = Wide(p.insurance_fund_usd) + p.fee_pool_usd;
    for (const auto& m : markets) {
        t.held += c.market(m).funding_pool_usd;
        t.size_sum[m] = 0;
    }
    for (const auto& name : names) {
        const auto a = c.account(name);
        if (!a) continue;
        t.held += a->collateral_usd;
        for (const auto& pos : a->markets) {
            t.held += Wide(pos.isolated_margin_usd) - pos.cost_usd;
            t.size_sum[pos.market] += pos.size_lots;
        }
    }
    return t;
}

}  // namespace

TEST_CASE("seeded random trading keeps I1 and I2 exact after every step") {
    Chain c;
    std::mt19937_64 rng(20261122);
    auto uniform = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
    const std::vector<std::string> markets = {"BTC", "ETH", "SOL"};
    const std::map<std::string, std::pair<int64_t, int64_t>> lots_range = {
        {"BTC", {20, 300'000}}, {"ETH", {40, 400'000}}, {"SOL", {8, 40'000}}};
    std::vector<std::string> names;
    for (int i = 0; i < 14; ++i) names.push_back("trader" + std::to_string(i));
    // Rich and poor accounts, so that margin rejections and under-water reductions happen.
    for (size_t i = 0; i < names.size(); ++i)
        REQUIRE(status(c.apply(c.deposit(names[i], i % 3 == 0 ? "20000" : "2000000"))) == "ok");
    for (size_t i = 10; i < names.size(); ++i)
        for (const auto& m : markets)
            REQUIRE(status(c.apply(c.set_leverage(names[i], m, static_cast<uint32_t>(uniform(2, 10)), MarginMode::isolated))) == "ok");
    names.push_back("nobody");  // never funded: unknown_account

    std::map<std::string, int> outcomes;
    int64_t lowest_pool_usd = 0;
    int opens = 0, raises = 0, reduces = 0, closes = 0, flips = 0;
    const int steps = 1500;
    for (int step = 0; step < steps; ++step) {
        const int64_t action = uniform(0, 99);
        const std::string market = markets[static_cast<size_t>(uniform(0, 2))];
        const MarketRecord m = c.market(market);
        Receipt r;
        if (action < 10) {
            // The mark moves by up to 3% either way (any positive value: oracle prices skip the tick rule).
            const int64_t moved = m.mark_price + mul_div_floor(m.mark_price, uniform(-30, 30), 1000) + uniform(-999, 999);
            r = c.apply(c.price({{market, {format_units(std::max<int64_t>(moved, 1), usd_decimals)}}}));
        } else if (action < 17) {
            const int64_t rate = uniform(0, 9) == 0 ? uniform(-90'000'000, 90'000'000) : uniform(-300'000, 300'000);
            r = c.apply(c.funding({{market, rate}}));
        } else if (action < 21) {
            const std::string& who = names[static_cast<size_t>(uniform(10, 13))];
            const int64_t amount = uniform(-5'000, 5'000) * usd_one + uniform(0, 999'999);
            r = c.apply(c.transfer_margin(who, market, format_units(amount == 0 ? 1 : amount, usd_decimals)));
        } else if (action < 24) {
            r = c.apply(c.withdraw(names[static_cast<size_t>(uniform(0, 14))], format_units(uniform(1, 50'000'000'000), usd_decimals)));
        } else if (action < 26) {
            const std::string& who = names[static_cast<size_t>(uniform(0, 9))];
            r = c.apply(c.set_leverage(who, market, static_cast<uint32_t>(uniform(1, 45))));
        } else {
            const size_t t = static_cast<size_t>(uniform(0, 13));
            size_t k = static_cast<size_t>(uniform(0, 12));
            if (k >= t) ++k;
            const std::string& taker = names[t];
            const std::string& maker = names[k];
            const int64_t held = c.position(taker, market).size_lots;
            const auto [lo, hi] = lots_range.at(market);
            int64_t lots = uniform(lo, hi);
            Side side = uniform(0, 1) ? Side::buy : Side::sell;
            const int64_t shape = uniform(0, 3);  // 0: random, 1: reduce, 2: close, 3: flip
            if (held != 0 && shape > 0) {
                side = held > 0 ? Side::sell : Side::buy;
                const int64_t size = held > 0 ? held : -held;
                lots = shape == 1 ? std::max<int64_t>(1, size / 3) : shape == 2 ? size : size + uniform(lo, hi);
            }
            // A price on the tick near mark, a few ticks either way.
            const int64_t tick = price_tick(m.mark_price, m.size_decimals);
            const int64_t price = std::max(tick, (m.mark_price / tick + uniform(-3, 3)) * tick);
            REQUIRE(on_tick(price, m.size_decimals));
            const std::string size_text = format_units(lots, m.size_decimals);
            const std::string price_text = format_units(price, usd_decimals);
            const MakerOrder order = c.order(maker, market, side == Side::buy ? Side::sell : Side::buy, size_text, price_text,
                                             uniform(0, 9) == 0);
            r = c.apply(c.open(taker, market, side, size_text, price_text, order));
            if (r.status == Reason::ok) {
                const int64_t after = c.position(taker, market).size_lots;
                if (held == 0) ++opens;
                else if (after == 0) ++closes;
                else if ((after > 0) != (held > 0)) ++flips;
                else if ((after > 0 ? after : -after) > (held > 0 ? held : -held)) ++raises;
                else ++reduces;
            }
        }
        ++outcomes[reason_name(r.status)];
        const Totals totals = recompute(c, names, markets);
        // Not a structured binding: clang 14 cannot capture one in doctest's message lambda.
        for (const auto& entry : totals.size_sum)
            REQUIRE_MESSAGE(entry.second == 0, "I1 in " << entry.first << " at step " << step);
        const ProtocolRecord p = c.protocol();
        REQUIRE_MESSAGE(totals.held == Wide(p.deposits_total_usd) - p.withdrawals_total_usd, "I2 at step " << step);
        for (const auto& symbol : markets) lowest_pool_usd = std::min(lowest_pool_usd, c.market(symbol).funding_pool_usd);
    }
    std::string summary;
    for (const auto& [reason, n] : outcomes) summary += reason + "=" + std::to_string(n) + " ";
    MESSAGE(summary << "opens=" << opens << " raises=" << raises << " reduces=" << reduces << " closes=" << closes
                    << " flips=" << flips);
    // The walk must have exercised what it claims to.
    CHECK(opens > 20);
    CHECK(raises > 20);
    CHECK(reduces > 20);
    CHECK(closes > 20);
    CHECK(flips > 20);
    CHECK(outcomes["insufficient_margin"] > 10);
    CHECK(outcomes["ok"] > steps / 2);
    // Lazy settlement did let a receiver take from a pool before its payers paid in.
    CHECK(lowest_pool_usd < 0);

    // Unwind: fund everyone so that no close leaves bad debt, then close longs against shorts
    // until open interest is zero. Every position has then settled, so each pool holds only its
    // rounding residue (>= 0), and the sweep has moved it to the insurance fund.
    const int64_t fund_before = c.protocol().insurance_fund_usd;
    for (size_t i = 0; i + 1 < names.size(); ++i) {
        REQUIRE(status(c.apply(c.deposit(names[i], "100000000"))) == "ok");
        for (const auto& symbol : markets) {
            const MarketPosition pos = c.position(names[i], symbol);
            if (pos.size_lots != 0 && pos.mode == MarginMode::isolated)
                REQUIRE(status(c.apply(c.transfer_margin(names[i], symbol, "1000000"))) == "ok");
        }
    }
    for (const auto& symbol : markets) {
        for (int round = 0; round < 200 && c.market(symbol).open_interest_lots != 0; ++round) {
            std::string longest, shortest;
            int64_t long_lots = 0, short_lots = 0;
            for (size_t i = 0; i + 1 < names.size(); ++i) {
                const int64_t size = c.position(names[i], symbol).size_lots;
                if (size > long_lots) long_lots = size, longest = names[i];
                if (-size > short_lots) short_lots = -size, shortest = names[i];
            }
            REQUIRE(!longest.empty());
            REQUIRE(!shortest.empty());
            const MarketRecord m = c.market(symbol);
            const int64_t tick = price_tick(m.mark_price, m.size_decimals);
            const std::string price = format_units(std::max(tick, m.mark_price / tick * tick), usd_decimals);
            const std::string size = format_units(std::min(long_lots, short_lots), m.size_decimals);
            const MakerOrder order = c.order(shortest, symbol, Side::buy, size, price, true);
            REQUIRE(status(c.apply(c.open(longest, symbol, Side::sell, size, price, order))) == "ok");
        }
        CHECK(c.market(symbol).open_interest_lots == 0);
        CHECK(c.market(symbol).funding_pool_usd == 0);
        CHECK(holders(c.state(), symbol).empty());
    }
    CHECK(c.protocol().insurance_fund_usd >= fund_before);
    MESSAGE("lowest pool " << lowest_pool_usd << "; residue swept " << c.protocol().insurance_fund_usd - fund_before);
}
