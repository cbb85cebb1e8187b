// RULES §9: liquidate and adl. Every case with numbers computed by hand (in the comments), every
// rejection, and I1-I3 (I5 for rejections) after each transaction (Chain::apply checks them).
#include "clearing/adl.hpp"
#include "clearing/liquidation.hpp"
#include "testkit.hpp"

using namespace clearnode;
using namespace clearnode::test;

namespace {

const Event* find_event(const Receipt& r, std::string_view kind, size_t nth = 0) {
    for (const auto& e : r.events)
        if (e.kind == kind && nth-- == 0) return &e;
    return nullptr;
}

std::string field(const Event* e, std::string_view name) {
    REQUIRE(e != nullptr);
    for (const auto& [k, v] : e->fields)
        if (k == name) return v.text();
    return "<missing>";
}

// A genesis whose insurance fund can pay nothing: fund = floor = 100 USD.
Genesis empty_fund_genesis() {
    Genesis g = demo_genesis();
    g.insurance_fund_usd = usd(100);
    g.params.insurance_floor_usd = usd(100);
    return g;
}

// alice: 0.5 BTC long bought at 65,000 from bob at 40x (IM 812.5); collateral 1,000 - 32,500 *
// 0.00045 = 985.375.
void alice_long_half_btc(Chain& c) {
    REQUIRE(status(c.apply(c.deposit("alice", "1000"))) == "ok");
    REQUIRE(status(c.apply(c.set_leverage("alice", "BTC", 40))) == "ok");
    REQUIRE(status(c.apply(c.deposit("bob", "100000"))) == "ok");
    REQUIRE(status(c.apply(c.deposit("keeper", "100000"))) == "ok");
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.5", "65000")) == "ok");
    REQUIRE(c.collateral("alice") == 985'375'000);
}

}  // namespace

// ---------------------------------------------------------------------------- case 1: keeper

TEST_CASE("keeper liquidation: the position passes at mark, the fee is split") {
    Chain c;
    alice_long_half_btc(c);
    // At 63,600: V = 985.375 + 0.5 * 63,600 - 32,500 = 285.375; MM = 31,800 * 1.25% = 397.5;
    // 2/3 MM = 265 <= V < MM: case 1.
    REQUIRE(status(set_price(c, "BTC", "63600")) == "ok");
    CHECK(c.margin("alice").value_usd == 285'375'000);
    CHECK(c.margin("alice").maintenance_margin_usd == 397'500'000);
    const int64_t fund_before = c.protocol().insurance_fund_usd;
    const Receipt r = c.apply(c.liquidate("keeper", "alice", "BTC"));
    REQUIRE(status(r) == "ok");
    CHECK(field(find_event(r, "liquidation"), "case") == "keeper");
    CHECK(field(find_event(r, "position_passed"), "to") == to_hex(id("keeper")));
    CHECK(field(find_event(r, "position_passed"), "size") == "0.5");
    CHECK(field(find_event(r, "position_passed"), "price") == "63600");
    // Notional 31,800; alice realizes 31,800 - 32,500 = -700 -> 285.375. Fee: 31,800 * 0.5% = 159,
    // under V; half to the keeper, half to the insurance fund.
    CHECK(field(find_event(r, "liquidation_fee"), "amount") == "159");
    CHECK(field(find_event(r, "liquidation_fee"), "to_liquidator") == "79.5");
    CHECK(field(find_event(r, "insurance_fund"), "balance") == "1000079.5");
    CHECK(c.collateral("alice") == 285'375'000 - usd(159));
    CHECK(c.position("alice", "BTC").size_lots == 0);
    // The keeper holds the long at entry 63,600 (cost 31,800 for 0.5).
    CHECK(c.position("keeper", "BTC").size_lots == 50'000);
    CHECK(c.position("keeper", "BTC").cost_usd == usd(31'800));
    CHECK(c.collateral("keeper") == usd(100'000) + 79'500'000);
    CHECK(c.protocol().insurance_fund_usd == fund_before + 79'500'000);
    // Liquidated once, the account is no longer liquidatable.
    CHECK(status(c.apply(c.liquidate("keeper", "alice", "BTC"))) == "not_liquidatable");
}

TEST_CASE("partial liquidation of a 500,000 USD position: 20%, full within the cooldown, partial after it") {
    Chain c;
    REQUIRE(status(c.apply(c.deposit("whale", "25225"))) == "ok");
    REQUIRE(status(c.apply(c.deposit("bob", "1000000"))) == "ok");
    REQUIRE(status(c.apply(c.deposit("keeper", "1000000"))) == "ok");
    REQUIRE(status(set_price(c, "BTC", "50000")) == "ok");
    // 10 BTC at 50,000 = 500,000; taker fee 225: collateral 25,000 = IM at 20x.
    REQUIRE(status(trade(c, "whale", Side::buy, "bob", "BTC", "10", "50000")) == "ok");
    REQUIRE(c.collateral("whale") == usd(25'000));
    // At 48,000: V = 25,000 - 20,000 = 5,000; MM = 480,000 * 1.25% = 6,000; 2/3 MM = 4,000.
    REQUIRE(status(set_price(c, "BTC", "48000")) == "ok");
    const Receipt first = c.apply(c.liquidate("keeper", "whale", "BTC"));
    REQUIRE(status(first) == "ok");
    // 480,000 > 100,000 and no partial before: ceil(10 * 20%) = 2 BTC pass (notional 96,000).
    // Cost released 100,000, PnL -4,000: collateral 21,000; fee 480 (240 / 240): 20,520.
    CHECK(field(find_event(first, "position_passed"), "size") == "2");
    CHECK(c.position("whale", "BTC").size_lots == 800'000);
    CHECK(c.position("whale", "BTC").cost_usd == usd(400'000));
    CHECK(c.position("whale", "BTC").last_partial_liquidation_ms == c.time_ms);
    CHECK(c.collateral("whale") == usd(20'520));
    CHECK(c.position("keeper", "BTC").size_lots == 200'000);
    // Still liquidatable: V = 20,520 - 16,000 = 4,520 < MM = 384,000 * 1.25% = 4,800, >= 3,200.
    CHECK(c.margin("whale").value_usd == usd(4'520));

    SUBCASE("within the cooldown the whole position passes") {
        const Receipt second = c.apply(c.liquidate("keeper", "whale", "BTC"));  // 1 s later
        REQUIRE(status(second) == "ok");
        CHECK(field(find_event(second, "position_passed"), "size") == "8");
        // PnL 384,000 - 400,000 = -16,000: 4,520; fee 1,920: 2,600.
        CHECK(c.position("whale", "BTC").size_lots == 0);
        CHECK(c.collateral("whale") == usd(2'600));
        CHECK(c.position("keeper", "BTC").size_lots == 1'000'000);
    }
    SUBCASE("after the cooldown, 20% again") {
        c.time_ms += 29'000;  // the next block is 30 s after the partial one
        const Receipt second = c.apply(c.liquidate("keeper", "whale", "BTC"));
        REQUIRE(status(second) == "ok");
        CHECK(field(find_event(second, "position_passed"), "size") == "1.6");
        CHECK(c.position("whale", "BTC").size_lots == 640'000);
    }
}

// ---------------------------------------------------------------------------- case 2: backstop

TEST_CASE("backstop at V just under 2/3 MM, keeper just over it") {
    Chain c;
    alice_long_half_btc(c);
    // At 63,558.907832: V = 985.375 + 31,779.453916 - 32,500 = 264.828916; MM =
    // ceil(31,779.453916 * 1.25%) = 397.243174 and 2/3 of it (666,667 ppm) is 264.8289154...
    SUBCASE("just over: keeper") {
        REQUIRE(status(set_price(c, "BTC", "63558.907832")) == "ok");
        CHECK(c.margin("alice").value_usd == 264'828'916);
        CHECK(c.margin("alice").maintenance_margin_usd == 397'243'174);
        const Receipt r = c.apply(c.liquidate("keeper", "alice", "BTC"));
        REQUIRE(status(r) == "ok");
        CHECK(field(find_event(r, "liquidation"), "case") == "keeper");
    }
    SUBCASE("just under: backstop") {
        // One usd unit lower: V = 264.828915 (the notional 31,779.4539155 rounds down).
        REQUIRE(status(set_price(c, "BTC", "63558.907831")) == "ok");
        CHECK(c.margin("alice").value_usd == 264'828'915);
        const int64_t fund_before = c.protocol().insurance_fund_usd;
        const Receipt r = c.apply(c.liquidate("keeper", "alice", "BTC"));
        REQUIRE(status(r) == "ok");
        CHECK(field(find_event(r, "liquidation"), "case") == "backstop");
        CHECK(field(find_event(r, "position_passed"), "to") == to_hex(id("backstop")));
        // The backstop takes 0.5 at mark, notional rounded against alice: 31,779.453915; alice's
        // collateral 985.375 - 720.546085 = 264.828915 goes to the fund; no fee, no margin check.
        CHECK(c.position("backstop", "BTC").size_lots == 50'000);
        CHECK(c.position("backstop", "BTC").cost_usd == 31'779'453'915);
        CHECK(c.collateral("alice") == 0);
        CHECK(c.position("alice", "BTC").size_lots == 0);
        CHECK(c.protocol().insurance_fund_usd == fund_before + 264'828'915);
        CHECK(field(find_event(r, "insurance_fund"), "reason") == "remaining_collateral");
        CHECK(c.collateral("keeper") == usd(100'000));  // the signer gets nothing
    }
}

// ---------------------------------------------------------------------------- case 3 and needs_adl

TEST_CASE("bankruptcy covered exactly by the insurance fund, and one usd unit more than it can pay") {
    // At 62,000: V = 985.375 + 31,000 - 32,500 = -514.625. Floor 1,000.
    Genesis g = demo_genesis();
    g.params.insurance_floor_usd = usd(1'000);
    SUBCASE("covered exactly: the fund ends at its floor") {
        g.insurance_fund_usd = 1'514'625'000;
        Chain c(g);
        alice_long_half_btc(c);
        REQUIRE(status(set_price(c, "BTC", "62000")) == "ok");
        CHECK(c.margin("alice").value_usd == -514'625'000);
        const Receipt r = c.apply(c.liquidate("keeper", "alice", "BTC"));
        REQUIRE(status(r) == "ok");
        CHECK(field(find_event(r, "liquidation"), "case") == "bankrupt");
        CHECK(field(find_event(r, "insurance_fund"), "flow") == "out");
        CHECK(field(find_event(r, "insurance_fund"), "amount") == "514.625");
        CHECK(field(find_event(r, "insurance_fund"), "balance") == "1000");
        CHECK(c.protocol().insurance_fund_usd == usd(1'000));
        CHECK(c.collateral("alice") == 0);
        CHECK(c.position("backstop", "BTC").cost_usd == usd(31'000));
    }
    SUBCASE("one usd unit short: needs_adl, and then adl is valid") {
        g.insurance_fund_usd = 1'514'624'999;
        Chain c(g);
        alice_long_half_btc(c);
        REQUIRE(status(set_price(c, "BTC", "62000")) == "ok");
        CHECK(status(c.apply(c.liquidate("keeper", "alice", "BTC"))) == "needs_adl");
        const auto queue = find_liquidatable(CommittedRecords(c.state()), load_config(c.state()));
        REQUIRE(queue.size() == 1);
        CHECK(queue[0].liquidation_case == LiquidationCase::needs_adl);
        // bob is the only short: he closes 0.5 where alice receives 31,000 + 514.625, the notional
        // rounded up against him: 0.5 * 63,029.249999 = 31,514.6249995 -> 31,514.625, one unit
        // under 62,000 + 514.625 / 0.5.
        const Receipt r = c.apply(c.adl("keeper", "alice", "BTC"));
        REQUIRE(status(r) == "ok");
        CHECK(field(find_event(r, "adl"), "bankruptcy_price") == "63029.249999");
        CHECK(c.collateral("alice") == 0);
        CHECK(c.protocol().insurance_fund_usd == 1'514'624'999);  // untouched
    }
}

// ---------------------------------------------------------------------------- case 4: ADL

TEST_CASE("ADL against three counterparties of different profit and leverage") {
    Chain c(empty_fund_genesis());
    for (auto [who, amount] : {std::pair{"alice", "3000"}, {"bob", "10000"}, {"carol", "1000"}, {"dave", "500"}, {"erin", "5000"}})
        REQUIRE(status(c.apply(c.deposit(who, amount))) == "ok");
    // alice buys 0.3 from bob at 65,000, 0.05 from carol at 64,000, 0.1 from dave at 66,000;
    // erin buys 0.1 from bob at 65,000. alice: +0.45 BTC, cost 29,300, collateral 3,000 - 13.185.
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.3", "65000")) == "ok");
    REQUIRE(status(trade(c, "erin", Side::buy, "bob", "BTC", "0.1", "65000")) == "ok");
    REQUIRE(status(trade(c, "alice", Side::buy, "carol", "BTC", "0.05", "64000")) == "ok");
    REQUIRE(status(trade(c, "alice", Side::buy, "dave", "BTC", "0.1", "66000")) == "ok");
    REQUIRE(c.collateral("alice") == 2'986'815'000);
    // At 55,000: alice V = 2,986.815 + 24,750 - 29,300 = -1,563.185; the fund can pay nothing.
    REQUIRE(status(set_price(c, "BTC", "55000")) == "ok");
    CHECK(c.margin("alice").value_usd == -1'563'185'000);
    CHECK(status(c.apply(c.liquidate("erin", "alice", "BTC"))) == "needs_adl");
    // The shorts, upnl / |cost| * notional / V:
    //   dave  0.1 from 66,000: 1,100 / 6,600 * 5,500 / 1,599.01  = 0.573
    //   carol 0.05 from 64,000:  450 / 3,200 * 2,750 / 1,449.52  = 0.267
    //   bob   0.4 from 65,000: 4,000 / 26,000 * 22,000 / 13,996.1 = 0.242
    const auto queue = adl_queue(CommittedRecords(c.state()), c.genesis.params, "BTC", -1);
    REQUIRE(queue.size() == 3);
    CHECK(queue[0].account == id("dave"));
    CHECK(queue[1].account == id("carol"));
    CHECK(queue[2].account == id("bob"));
    CHECK(queue[0].value_usd == 1'599'010'000);

    const int64_t fund_before = c.protocol().insurance_fund_usd;
    const Receipt r = c.apply(c.adl("keeper2", "alice", "BTC"));
    CHECK(status(r) == "unknown_account");  // any account may send it, but an account
    REQUIRE(status(c.apply(c.deposit("keeper2", "1"))) == "ok");
    const Receipt adl = c.apply(c.adl("keeper2", "alice", "BTC"));
    REQUIRE(status(adl) == "ok");
    // p_b: the least price >= mark with 2,986.815 + sum of ceil(c_i * p) - 29,300 >= 0 for closes
    // of 0.1, 0.05 and 0.3 (each rounded up against its buyer): 58,473.744441, where the three
    // notionals 5,847.374445 + 2,923.687223 + 17,542.123333 = 26,313.185001 leave alice +0.000001
    // (one unit lower they would leave -0.000002). The exact 58,473.7444... would charge more.
    CHECK(field(find_event(adl, "adl"), "bankruptcy_price") == "58473.744441");
    CHECK(field(find_event(adl, "adl_fill", 0), "counterparty") == to_hex(id("dave")));
    CHECK(field(find_event(adl, "adl_fill", 0), "size") == "0.1");
    CHECK(field(find_event(adl, "adl_fill", 1), "counterparty") == to_hex(id("carol")));
    CHECK(field(find_event(adl, "adl_fill", 1), "size") == "0.05");
    CHECK(field(find_event(adl, "adl_fill", 2), "counterparty") == to_hex(id("bob")));
    CHECK(field(find_event(adl, "adl_fill", 2), "size") == "0.3");
    CHECK(find_event(adl, "adl_fill", 3) == nullptr);
    CHECK(find_event(adl, "fee") == nullptr);  // no fee
    // alice ends at zero, her +0.000001 to the fund; dave and carol are flat, bob keeps 0.1 of 0.4.
    CHECK(c.collateral("alice") == 0);
    CHECK(c.position("alice", "BTC").size_lots == 0);
    CHECK(c.protocol().insurance_fund_usd == fund_before + 1);
    CHECK(c.position("dave", "BTC").size_lots == 0);
    CHECK(c.collateral("dave") == 499'010'000 + usd(6'600) - 5'847'374'445);
    CHECK(c.collateral("carol") == 999'520'000 + usd(3'200) - 2'923'687'223);
    CHECK(c.position("bob", "BTC").size_lots == -10'000);
    CHECK(c.position("bob", "BTC").cost_usd == -usd(6'500));
    // bob: cost released 19,500, PnL 19,500 - 17,542.123333.
    CHECK(c.collateral("bob") == 9'996'100'000 + usd(19'500) - 17'542'123'333);
}

TEST_CASE("bankruptcy price: the fills' own rounding is counted, and p_b - 1 would leave V < 0") {
    const std::vector<int64_t> closes{10'000, 5'000, 30'000};
    const int64_t mark = usd(55'000);
    const BankruptcyPrice p = bankruptcy_price(-1'563'185'000, 45'000, mark, 5, closes);
    CHECK(p.price == 58'473'744'441);
    CHECK_FALSE(p.clamped);
    CHECK(value_after_close(-1'563'185'000, 45'000, mark, 5, closes, p.price) == 1);
    CHECK(value_after_close(-1'563'185'000, 45'000, mark, 5, closes, p.price - 1) == -2);
    // A short: the greatest price at or below mark; beyond the range, clamped at 1.
    const std::vector<int64_t> one{100};
    const BankruptcyPrice s = bankruptcy_price(-usd(10), -100, usd(150), 2, one);
    CHECK(s.price == usd(140));
    CHECK(bankruptcy_price(-usd(150), -100, usd(150), 2, one).clamped);
    CHECK(bankruptcy_price(-usd(150), -100, usd(150), 2, one).price == 1);
    // V_after(mark) >= 0 already (a rounding of one unit): p_b is mark itself.
    CHECK(bankruptcy_price(0, 45'000, mark, 5, closes).price == mark);
}

TEST_CASE("ADL ranking: V <= 0 first, profitable before unprofitable, ties by id, exact comparison") {
    AdlCandidate a{id("a"), MarginMode::cross, -10, -100, 50, 90, 1000};
    AdlCandidate broke{id("b"), MarginMode::cross, -10, -100, 1, 90, 0};
    AdlCandidate loser{id("c"), MarginMode::cross, -10, -100, -5, 90, 1};
    CHECK(adl_ranks_before(broke, a));
    CHECK(adl_ranks_before(a, loser));
    // Equal keys: 50/100 * 90/1000 = 100/200 * 90/1000 -> by account id.
    AdlCandidate twin{id("d"), MarginMode::isolated, -10, -200, 100, 90, 1000};
    CHECK(adl_ranks_before(a, twin) == (a.account < twin.account));
    CHECK(adl_ranks_before(twin, a) == (twin.account < a.account));
    // Products of four int64 near 2^63 compare exactly (no overflow, no rounding).
    const int64_t big = INT64_MAX;
    AdlCandidate x{id("x"), MarginMode::cross, -1, big, big, big, 1};
    AdlCandidate y{id("y"), MarginMode::cross, -1, big, big - 1, big, 1};
    CHECK(adl_ranks_before(x, y));
    CHECK_FALSE(adl_ranks_before(y, x));
}

TEST_CASE("a short whose p_b would fall to zero closes at the bound; the deficit waits for its next market") {
    Chain c(empty_fund_genesis());
    for (auto [who, amount] : {std::pair{"alice", "1000"}, {"bob", "100000"}, {"carol", "1000"}, {"keeper", "10"}})
        REQUIRE(status(c.apply(c.deposit(who, amount))) == "ok");
    // alice: +0.2 BTC from bob at 65,000 (fee 5.85), -1 SOL to carol at 150 (fee 0.0675).
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.2", "65000")) == "ok");
    REQUIRE(status(trade(c, "alice", Side::sell, "carol", "SOL", "1", "150")) == "ok");
    REQUIRE(c.collateral("alice") == 994'082'500);
    // At 58,000: V = 994.0825 + 11,600 - 13,000 = -405.9175, more than SOL's notional of 150.
    REQUIRE(status(set_price(c, "BTC", "58000")) == "ok");
    CHECK(c.margin("alice").value_usd == -405'917'500);
    const Receipt sol = c.apply(c.adl("keeper", "alice", "SOL"));
    REQUIRE(status(sol) == "ok");
    CHECK(field(find_event(sol, "adl"), "clamped") == "true");
    CHECK(field(find_event(sol, "adl"), "bankruptcy_price") == "0.000001");
    // alice buys 1 SOL at 0.000001 (notional 0.000001): PnL 149.999999; V = -255.917501.
    CHECK(c.collateral("alice") == 1'144'082'499);
    CHECK(c.margin("alice").value_usd == -255'917'501);
    CHECK(c.collateral("carol") == 999'977'500 - 149'999'999);
    // Then BTC: alice must receive 11,600 + 255.917501 for 0.2 BTC, ceil(0.2 * p) rounded up
    // against bob: the least such p is 59,279.587501 (0.2 * p = 11,855.9175002 -> 11,855.917501),
    // four units under 58,000 + 255.917501 / 0.2. alice ends at exactly zero.
    const Receipt btc = c.apply(c.adl("keeper", "alice", "BTC"));
    REQUIRE(status(btc) == "ok");
    CHECK(field(find_event(btc, "adl"), "bankruptcy_price") == "59279.587501");
    CHECK(c.collateral("alice") == 0);
    CHECK(c.protocol().insurance_fund_usd == usd(100));
    CHECK(c.margin("bob").value_usd == c.collateral("bob"));
}

TEST_CASE("a short clamped on its last market: the fund to its floor, then the fee pool, pays the residual debt") {
    Chain c(empty_fund_genesis());
    REQUIRE(status(c.apply(c.deposit("alice", "100"))) == "ok");
    REQUIRE(status(c.apply(c.deposit("bob", "1000"))) == "ok");
    REQUIRE(status(trade(c, "alice", Side::sell, "bob", "SOL", "1", "150")) == "ok");  // fees 0.0675 + 0.0225
    // 42 intervals at -4%: shorts pay 1 * 150 * 4% = 6 each, 252 in all. V = 99.9325 - 252.
    for (int i = 0; i < 42; ++i) REQUIRE(status(c.apply(c.funding({{"SOL", -40'000'000}}))) == "ok");
    CHECK(c.margin("alice").value_usd == -152'067'500);
    // Closing at any price p >= 0.000001 leaves V = -152.0675 + 150 - p < 0: clamped at the bound.
    const Receipt r = c.apply(c.adl("bob", "alice", "SOL"));
    REQUIRE(status(r) == "ok");
    CHECK(field(find_event(r, "adl"), "clamped") == "true");
    // alice: -152.0675 after funding, + 150 - 0.000001 = -2.067501 with no position left: the fund
    // has nothing above its floor, so the fee pool (0.09 of fees) pays it and goes negative.
    CHECK(c.collateral("alice") == 0);
    CHECK(c.protocol().insurance_fund_usd == usd(100));
    CHECK(c.protocol().fee_pool_usd == 90'000 - 2'067'501);
    CHECK(field(find_event(r, "fee_pool"), "reason") == "residual_debt");
    // bob: 999.9775 + 252 funding + (0.000001 - 150).
    CHECK(c.collateral("bob") == 999'977'500 + usd(252) + 1 - usd(150));
}

// ---------------------------------------------------------------------------- case 5: isolated

TEST_CASE("isolated liquidation leaves the cross account untouched") {
    Chain c;
    for (auto [who, amount] : {std::pair{"alice", "2000"}, {"bob", "100000"}, {"carol", "100000"}, {"keeper", "100000"}})
        REQUIRE(status(c.apply(c.deposit(who, amount))) == "ok");
    REQUIRE(status(c.apply(c.set_leverage("alice", "BTC", 10, MarginMode::isolated))) == "ok");
    // Isolated 0.1 BTC at 65,000: margin 650 from collateral; fee 2.925. Cross 1 ETH at 3,200: fee 1.44.
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.1", "65000")) == "ok");
    REQUIRE(status(trade(c, "alice", Side::buy, "carol", "ETH", "1", "3200")) == "ok");
    REQUIRE(c.position("alice", "BTC").isolated_margin_usd == usd(650));
    REQUIRE(c.collateral("alice") == 1'345'635'000);
    const AccountMargin cross_before = c.margin("alice");

    SUBCASE("backstop: Vi = 650 + 5,860 - 6,500 = 10 < 2/3 MM = 2/3 * 73.25") {
        REQUIRE(status(set_price(c, "BTC", "58600")) == "ok");
        const int64_t fund_before = c.protocol().insurance_fund_usd;
        const Receipt r = c.apply(c.liquidate("keeper", "alice", "BTC"));
        REQUIRE(status(r) == "ok");
        CHECK(field(find_event(r, "liquidation"), "scope") == "isolated");
        CHECK(field(find_event(r, "liquidation"), "case") == "backstop");
        // The margin left (10) goes to the fund; collateral and the ETH position do not move.
        CHECK(c.protocol().insurance_fund_usd == fund_before + usd(10));
        CHECK(c.collateral("alice") == 1'345'635'000);
        CHECK(c.margin("alice").value_usd == cross_before.value_usd);
        CHECK(c.position("alice", "ETH").size_lots == 10'000);
        CHECK(c.position("alice", "BTC").size_lots == 0);
        CHECK(c.position("alice", "BTC").isolated_margin_usd == 0);
        CHECK(c.position("backstop", "BTC").size_lots == 10'000);
    }
    SUBCASE("keeper: Vi = 650 + 5,900 - 6,500 = 50 >= 2/3 * 73.75") {
        REQUIRE(status(set_price(c, "BTC", "59000")) == "ok");
        const Receipt r = c.apply(c.liquidate("keeper", "alice", "BTC"));
        REQUIRE(status(r) == "ok");
        CHECK(field(find_event(r, "liquidation"), "case") == "keeper");
        // The margin left (50) is released; the fee (5,900 * 0.5% = 29.5) comes out of it.
        CHECK(field(find_event(r, "liquidation_fee"), "amount") == "29.5");
        CHECK(c.collateral("alice") == 1'345'635'000 + usd(50) - 29'500'000);
        CHECK(c.position("alice", "ETH").size_lots == 10'000);
        CHECK(c.collateral("keeper") == usd(100'000) + 14'750'000);
    }
}

// ---------------------------------------------------------------------------- attacks

TEST_CASE("attacks: each rejected with its code, nothing changed but the signer's nonce") {
    Genesis g = demo_genesis();
    g.params.insurance_floor_usd = usd(999'999);  // available: 1 USD
    Chain c(g);
    alice_long_half_btc(c);
    REQUIRE(status(c.apply(c.deposit("poor", "10"))) == "ok");
    SUBCASE("liquidating a healthy account") {
        CHECK(status(c.apply(c.liquidate("keeper", "alice", "BTC"))) == "not_liquidatable");
        CHECK(status(c.apply(c.liquidate("keeper", "nobody", "BTC"))) == "not_liquidatable");
        CHECK(status(c.apply(c.liquidate("keeper", "alice", "DOGE"))) == "unknown_market");
    }
    REQUIRE(status(set_price(c, "BTC", "63600")) == "ok");  // case 1 (see above)
    SUBCASE("liquidating oneself") { CHECK(status(c.apply(c.liquidate("alice", "alice", "BTC"))) == "self_liquidation"); }
    SUBCASE("naming a market where the account holds nothing") {
        CHECK(status(c.apply(c.liquidate("keeper", "alice", "ETH"))) == "not_liquidatable");
    }
    SUBCASE("a liquidator without margin: 31,800 / 20 = 1,590 of IM against 10") {
        CHECK(status(c.apply(c.liquidate("poor", "alice", "BTC"))) == "liquidator_margin");
    }
    SUBCASE("a replayed liquidation") {
        const Tx once = c.liquidate("keeper", "alice", "BTC");
        REQUIRE(status(c.apply(once)) == "ok");
        CHECK(status(c.apply(once)) == "nonce_used");
        CHECK(status(c.apply(c.resign(once, "keeper"))) == "nonce_used");
    }
    SUBCASE("ADL while the insurance fund can pay, or on a solvent account") {
        CHECK(status(c.apply(c.adl("keeper", "alice", "BTC"))) == "adl_not_allowed");  // case 1
        // The fund can pay 1 USD: at a price where -V <= 1 USD it pays, and adl is refused.
        REQUIRE(status(set_price(c, "BTC", "63028")) == "ok");  // V = 985.375 + 31,514 - 32,500 = -0.625
        CHECK(c.margin("alice").value_usd == -625'000);
        CHECK(status(c.apply(c.adl("keeper", "alice", "BTC"))) == "adl_not_allowed");
        CHECK(status(c.apply(c.liquidate("keeper", "alice", "BTC"))) == "ok");  // case 3
    }
    SUBCASE("ADL naming the wrong market") {
        REQUIRE(status(set_price(c, "BTC", "62000")) == "ok");  // V = -514.625: needs ADL
        CHECK(status(c.apply(c.liquidate("keeper", "alice", "BTC"))) == "needs_adl");
        CHECK(status(c.apply(c.adl("keeper", "alice", "ETH"))) == "adl_not_allowed");
        CHECK(status(c.apply(c.adl("keeper", "bob", "BTC"))) == "adl_not_allowed");
        CHECK(status(c.apply(c.adl("keeper", "alice", "DOGE"))) == "unknown_market");
        CHECK(status(c.apply(c.adl("keeper", "alice", "BTC"))) == "ok");
    }
}

TEST_CASE("keepers' view: liquidatable scopes with their case, deterministic order") {
    Chain c;
    alice_long_half_btc(c);
    CHECK(find_liquidatable(CommittedRecords(c.state()), load_config(c.state())).empty());
    REQUIRE(status(set_price(c, "BTC", "63600")) == "ok");
    const auto entries = find_liquidatable(CommittedRecords(c.state()), load_config(c.state()));
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].account == id("alice"));
    CHECK(entries[0].liquidation_case == LiquidationCase::keeper);
    CHECK(entries[0].exposure.value_usd == 285'375'000);
    CHECK(entries[0].markets == std::vector<std::string>{"BTC"});
}
