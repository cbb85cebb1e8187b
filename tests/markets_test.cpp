// price, funding, set_leverage, transfer_margin and open: success paths with numbers computed by
// hand, every rejection, and I1-I3 (plus I5 for rejections) after each (Chain::apply checks them).
#include "clearing/fills.hpp"
#include "testkit.hpp"

using namespace clearnode;
using namespace clearnode::test;

// ---------------------------------------------------------------------------- price, funding

TEST_CASE("price sets marks; funding moves the index by mark * rate") {
    Chain c;
    CHECK(status(c.apply(c.price({{"BTC", {"66000.5"}}, {"SOL", {"0.000001"}}}))) == "ok");
    CHECK(c.market("BTC").mark_price == 66'000'500'000);
    CHECK(c.market("SOL").mark_price == 1);
    CHECK(status(c.apply(c.funding({{"BTC", 125'000}, {"ETH", -3}}))) == "ok");
    CHECK(c.market("BTC").funding_index == Wide(66'000'500'000) * 125'000);
    CHECK(c.market("ETH").funding_index == Wide(usd(3'200)) * -3);
    // Beyond +-4% per interval the rate is clamped.
    CHECK(status(c.apply(c.funding({{"SOL", 90'000'000}}))) == "ok");
    CHECK(c.market("SOL").funding_index == Wide(1) * 40'000'000);
    CHECK(status(c.apply(c.funding({{"SOL", -90'000'000}}))) == "ok");
    CHECK(c.market("SOL").funding_index == 0);
}

TEST_CASE("price and funding rejections") {
    Chain c;
    c.apply(c.deposit("alice", "10"));
    CHECK(status(c.apply(c.make("alice", PriceUpdate{{{"BTC", {"1"}}}}))) == "not_authorized");
    CHECK(status(c.apply(c.make("alice", FundingUpdate{{{"BTC", 1}}}))) == "not_authorized");
    CHECK(status(c.apply(c.price({{"DOGE", {"1"}}}))) == "unknown_market");
    CHECK(status(c.apply(c.price({{"BTC", {"70000"}}, {"DOGE", {"1"}}}))) == "unknown_market");  // all or nothing
    CHECK(c.market("BTC").mark_price == usd(65'000));
    CHECK(status(c.apply(c.price({{"BTC", {"0"}}}))) == "bad_amount");
    CHECK(status(c.apply(c.price({{"BTC", {"-1"}}}))) == "bad_amount");
    CHECK(status(c.apply(c.price({{"BTC", {"1.0000001"}}}))) == "bad_amount");
    CHECK(status(c.apply(c.price({{"BTC", {"9999999999999"}}}))) == "overflow");
    CHECK(status(c.apply(c.price({}))) == "bad_amount");
    CHECK(status(c.apply(c.funding({{"DOGE", 1}}))) == "unknown_market");
    CHECK(status(c.apply(c.funding({}))) == "bad_amount");
    const Tx once = c.price({{"BTC", {"1"}}});
    CHECK(status(c.apply(once)) == "ok");
    CHECK(status(c.apply(once)) == "nonce_used");
}

TEST_CASE("funding: longs pay shorts, settled lazily when a position is touched") {
    Chain c;
    c.apply(c.deposit("alice", "10000"));
    c.apply(c.deposit("bob", "10000"));
    c.apply(c.deposit("carol", "10000"));
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.5", "65000")) == "ok");
    const int64_t alice_before = c.collateral("alice");
    CHECK(status(c.apply(c.funding({{"BTC", 125'000}}))) == "ok");
    // Nothing moved yet: the funding transaction costs O(1) whatever the number of positions.
    CHECK(c.collateral("alice") == alice_before);
    CHECK(c.market("BTC").funding_pool_usd == 0);
    // But valuations count it: 0.5 * 65,000 * 0.000125 = 4.0625 USD.
    CHECK(c.position_margin("alice", "BTC").funding_owed_usd == 4'062'500);
    CHECK(c.position_margin("bob", "BTC").funding_owed_usd == -4'062'500);
    CHECK(c.margin("alice").value_usd == alice_before - 4'062'500);

    SUBCASE("the receiver settles first: the pool goes negative until the payer settles") {
        // bob (short, receiver) reduces against carol: he settles first.
        REQUIRE(status(trade(c, "bob", Side::buy, "carol", "BTC", "0.1", "65000")) == "ok");
        CHECK(c.market("BTC").funding_pool_usd == -4'062'500);
        CHECK(c.position("bob", "BTC").funding_index == c.market("BTC").funding_index);
        CHECK(c.position("alice", "BTC").funding_index == 0);
        // alice (payer) settles on her next touch; the pool is back to its residue.
        REQUIRE(status(trade(c, "alice", Side::sell, "carol", "BTC", "0.1", "65000")) == "ok");
        CHECK(c.market("BTC").funding_pool_usd == 0);
    }
    SUBCASE("the payer settles first") {
        REQUIRE(status(trade(c, "alice", Side::sell, "carol", "BTC", "0.1", "65000")) == "ok");
        CHECK(c.market("BTC").funding_pool_usd == 4'062'500);
        const int64_t taker_fee = mul_div_ceil(usd(6'500), 450, ppm_one);
        CHECK(c.collateral("alice") == alice_before - 4'062'500 - taker_fee);  // PnL 0 at 65,000
    }
}

TEST_CASE("funding rounding: the residue stays in the pool and goes to the insurance fund when open interest is zero") {
    Chain c;
    for (auto who : {"alice", "bob", "carol", "dave"}) c.apply(c.deposit(who, "100000"));
    // Three longs of 1 lot each against one short of 3 lots (SOL: 1 lot = 0.01 SOL)... at
    // 10 USD minimum notional, use 7 lots at 150 = 10.5 USD each.
    REQUIRE(status(trade(c, "alice", Side::buy, "dave", "SOL", "0.07", "150")) == "ok");
    REQUIRE(status(trade(c, "bob", Side::buy, "dave", "SOL", "0.07", "150")) == "ok");
    REQUIRE(status(trade(c, "carol", Side::buy, "dave", "SOL", "0.07", "150")) == "ok");
    CHECK(c.market("SOL").open_interest_lots == 21);
    // 0.07 * 150 * 0.000000333 = 0.0000034965 per long: each pays 4 units; dave receives
    // 0.21 * 150 * 0.000000333 = 0.0000104895 -> 10 units. Residue: 2 units.
    REQUIRE(status(c.apply(c.funding({{"SOL", 333}}))) == "ok");
    const int64_t fund_before = c.protocol().insurance_fund_usd;
    REQUIRE(status(trade(c, "alice", Side::sell, "dave", "SOL", "0.07", "150")) == "ok");
    REQUIRE(status(trade(c, "bob", Side::sell, "dave", "SOL", "0.07", "150")) == "ok");
    CHECK(c.market("SOL").funding_pool_usd == 8 - 10);  // dave received before carol paid
    const Receipt last = trade(c, "carol", Side::sell, "dave", "SOL", "0.07", "150");
    REQUIRE(status(last) == "ok");
    CHECK(c.market("SOL").open_interest_lots == 0);
    CHECK(c.market("SOL").funding_pool_usd == 0);
    CHECK(c.protocol().insurance_fund_usd == fund_before + 2);
    bool swept = false;
    for (const auto& e : last.events) swept = swept || e.kind == "funding_pool_to_insurance";
    CHECK(swept);
}

// ---------------------------------------------------------------------------- open

TEST_CASE("open: a fill opens both sides at the same notional and charges both fees") {
    Chain c;
    c.apply(c.deposit("alice", "10000"));
    c.apply(c.deposit("bob", "10000"));
    const Receipt r = trade(c, "alice", Side::buy, "bob", "BTC", "0.5", "65000");
    REQUIRE(status(r) == "ok");
    const MarketPosition alice = c.position("alice", "BTC");
    const MarketPosition bob = c.position("bob", "BTC");
    CHECK(alice.size_lots == 50'000);
    CHECK(alice.cost_usd == usd(32'500));
    CHECK(bob.size_lots == -50'000);
    CHECK(bob.cost_usd == -usd(32'500));
    CHECK(c.collateral("alice") == usd(10'000) - 14'625'000);  // taker: 32,500 * 0.00045
    CHECK(c.collateral("bob") == usd(10'000) - 4'875'000);     // maker: 32,500 * 0.00015
    CHECK(c.protocol().fee_pool_usd == 19'500'000);
    CHECK(c.market("BTC").open_interest_lots == 50'000);
    CHECK(holders(c.state(), "BTC") == std::vector<AccountId>(id("alice") < id("bob") ? std::vector{id("alice"), id("bob")}
                                                                                       : std::vector{id("bob"), id("alice")}));
    // Default leverage 20: IM = 32,500 / 20; MM = 32,500 * 0.0125.
    const AccountMargin m = c.margin("alice");
    CHECK(m.initial_margin_usd == usd(1'625));
    CHECK(m.maintenance_margin_usd == 406'250'000);
    CHECK(m.value_usd == usd(10'000) - 14'625'000);
    CHECK(m.transfer_requirement_usd == usd(3'250));
}

TEST_CASE("open: raise, reduce with realized PnL, flip, close") {
    Chain c;
    for (auto who : {"alice", "bob", "carol"}) c.apply(c.deposit(who, "100000"));
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.5", "65000")) == "ok");
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.25", "68000")) == "ok");  // raise
    CHECK(c.position("alice", "BTC").size_lots == 75'000);
    CHECK(c.position("alice", "BTC").cost_usd == usd(32'500 + 17'000));
    set_price(c, "BTC", "66000");
    CHECK(c.position_margin("alice", "BTC").upnl_usd == usd(49'500) - usd(49'500));

    // Reduce 0.3 at 70,000: released cost 49,500 * 0.3 / 0.75 = 19,800; PnL 21,000 - 19,800.
    int64_t before = c.collateral("alice");
    REQUIRE(status(trade(c, "alice", Side::sell, "carol", "BTC", "0.3", "70000")) == "ok");
    CHECK(c.position("alice", "BTC").size_lots == 45'000);
    CHECK(c.position("alice", "BTC").cost_usd == usd(29'700));
    CHECK(c.collateral("alice") == before + usd(1'200) - mul_div_ceil(usd(21'000), 450, ppm_one));

    // Flip: sell 0.75 at 60,000 closes 0.45 (27,000 against cost 29,700: -2,700) and opens a
    // short of 0.3 at cost -18,000.
    before = c.collateral("alice");
    const Receipt flip = trade(c, "alice", Side::sell, "carol", "BTC", "0.75", "60000");
    REQUIRE(status(flip) == "ok");
    CHECK(c.position("alice", "BTC").size_lots == -30'000);
    CHECK(c.position("alice", "BTC").cost_usd == -usd(18'000));
    CHECK(c.collateral("alice") == before - usd(2'700) - mul_div_ceil(usd(45'000), 450, ppm_one));

    // Close the short at 61,000: PnL -18,000 ... -(18,300) + 18,000 = -300.
    before = c.collateral("alice");
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.3", "61000")) == "ok");
    CHECK(c.position("alice", "BTC").size_lots == 0);
    CHECK(c.position("alice", "BTC").cost_usd == 0);
    CHECK(c.collateral("alice") == before - usd(300) - mul_div_ceil(usd(18'300), 450, ppm_one));
    const auto list = holders(c.state(), "BTC");
    CHECK(std::find(list.begin(), list.end(), id("alice")) == list.end());
    // Open interest: bob short 0.75 - 0.3 closed by alice's buy = 0.45, carol long 0.3 + 0.75.
    CHECK(c.market("BTC").open_interest_lots == 105'000);
}

TEST_CASE("a flip splits the notional by lots, rounding the closed part against the account") {
    Chain c;
    for (auto who : {"alice", "bob", "carol"}) c.apply(c.deposit(who, "100000"));
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "SOL", "1", "150")) == "ok");
    // Sell 3 at 150.01: notional 450.03, closed third 150.01 exactly, then a short of 2.
    REQUIRE(status(trade(c, "alice", Side::sell, "carol", "SOL", "3", "150.01")) == "ok");
    CHECK(c.position("alice", "SOL").cost_usd == -300'020'000);
    // Sell 0.07 of 0.03 open: SOL at 150.37, notional 10.5259 (0.07 * 150.37); closing part of a
    // buy of 0.07 against a short of 2 is a plain reduce.
    REQUIRE(status(trade(c, "alice", Side::buy, "carol", "SOL", "2.07", "150.37")) == "ok");
    // Closed 2 of 2.07: ceil(311.2659 * 2 / 2.07) = 300.74 exactly (150.37 * 2); open 0.07.
    CHECK(c.position("alice", "SOL").size_lots == 7);
    CHECK(c.position("alice", "SOL").cost_usd == 10'525'900);
}

TEST_CASE("a 40x fill that just meets initial margin passes; one usd unit more notional fails") {
    // A market where 1 lot at price 1 is exactly 1 usd unit, so notional moves by single units.
    Genesis g = demo_genesis();
    g.markets.push_back({"UNIT", 6, usd(1), {{0, 40}}});
    auto attempt = [&](const std::string& size) {
        Chain c(g);
        // 40,000 USD at 40x needs 1,000 USD of IM, and the taker fee is 18 USD.
        c.apply(c.deposit("alice", "1018"));
        c.apply(c.deposit("bob", "100000"));
        REQUIRE(status(c.apply(c.set_leverage("alice", "UNIT", 40))) == "ok");
        const std::string result = status(trade(c, "alice", Side::buy, "bob", "UNIT", size, "1"));
        if (result == "ok") {
            const AccountMargin m = c.margin("alice");
            CHECK(m.initial_margin_usd == usd(1'000));
            CHECK(m.value_usd == usd(1'000));
        }
        return result;
    };
    CHECK(attempt("40000") == "ok");
    CHECK(attempt("40000.000001") == "insufficient_margin");  // IM 1,000.000001 and fee 18.000001
}

TEST_CASE("a reducing fill passes under water; one that leaves V < 0 is rejected") {
    Chain c;
    c.apply(c.deposit("alice", "1640"));
    c.apply(c.deposit("bob", "100000"));
    c.apply(c.deposit("carol", "100000"));
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.5", "65000")) == "ok");  // V 1,625.375 >= IM 1,625
    CHECK(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.001", "65000")) == "insufficient_margin");
    set_price(c, "BTC", "62000");
    // V = 1,625.375 - 1,500 = 125.375 < MM = 31,000 * 0.0125 = 387.5: liquidatable.
    CHECK(cross_liquidatable(c.margin("alice")));
    // Sell 0.1 at 62,000: PnL -300, fee 2.79 -> V = 122.585 >= 0: passes.
    CHECK(status(trade(c, "alice", Side::sell, "carol", "BTC", "0.1", "62000")) == "ok");
    CHECK(c.margin("alice").value_usd == 122'585'000);
    set_price(c, "BTC", "61000");
    CHECK(c.margin("alice").value_usd < 0);
    CHECK(status(trade(c, "alice", Side::sell, "carol", "BTC", "0.1", "61000")) == "insufficient_margin");
    // At a price better than mark the same reduce leaves V >= 0 and passes.
    CHECK(status(trade(c, "alice", Side::sell, "carol", "BTC", "0.4", "62000")) == "ok");
    CHECK(c.position("alice", "BTC").size_lots == 0);
    CHECK(c.collateral("alice") >= 0);
}

TEST_CASE("the maker is checked after the taker, and both must meet IM") {
    Chain c;
    c.apply(c.deposit("alice", "100"));
    c.apply(c.deposit("bob", "100"));
    c.apply(c.deposit("carol", "100000"));
    // 0.05 BTC = 3,250 USD needs 162.5 at 20x: both are short of it; the taker is reported.
    CHECK(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.05", "65000")) == "insufficient_margin");
    CHECK(status(trade(c, "carol", Side::buy, "bob", "BTC", "0.05", "65000")) == "insufficient_margin");
    CHECK(status(trade(c, "carol", Side::buy, "bob", "BTC", "0.02", "65000")) == "ok");
}

TEST_CASE("open rejections, in RULES §7 order") {
    Chain c;
    for (auto who : {"alice", "bob"}) c.apply(c.deposit(who, "100000"));
    auto open_with = [&](std::string market, Side side, std::string size, std::string price, MakerOrder order) {
        return status(c.apply(c.open("alice", std::move(market), side, std::move(size), std::move(price), std::move(order))));
    };
    CHECK(open_with("DOGE", Side::buy, "1", "1", c.order("bob", "DOGE", Side::sell, "1", "1")) == "unknown_market");
    CHECK(open_with("BTC", Side::buy, "1", "65000", c.order("alice", "BTC", Side::sell, "1", "65000")) == "self_trade");
    CHECK(open_with("BTC", Side::buy, "0", "65000", c.order("bob", "BTC", Side::sell, "1", "65000")) == "bad_amount");
    CHECK(open_with("BTC", Side::buy, "0.000001", "65000", c.order("bob", "BTC", Side::sell, "1", "65000")) == "bad_amount");
    CHECK(open_with("BTC", Side::buy, "1", "-65000", c.order("bob", "BTC", Side::sell, "1", "65000")) == "bad_amount");
    CHECK(open_with("BTC", Side::buy, "1", "65000", c.order("bob", "BTC", Side::sell, "-1", "65000")) == "bad_amount");
    CHECK(open_with("BTC", Side::buy, "1", "65000", c.order("bob", "BTC", Side::sell, "1", "0")) == "bad_amount");
    CHECK(open_with("BTC", Side::buy, "99999999999999", "65000", c.order("bob", "BTC", Side::sell, "1", "65000")) == "overflow");
    CHECK(open_with("BTC", Side::buy, "1", "65000.5", c.order("bob", "BTC", Side::sell, "1", "65000")) == "tick");
    CHECK(open_with("BTC", Side::buy, "1", "65000", c.order("bob", "BTC", Side::sell, "1", "64999.9")) == "tick");
    CHECK(open_with("BTC", Side::buy, "1", "6500.05", c.order("bob", "BTC", Side::sell, "1", "6500")) == "tick");
    CHECK(open_with("BTC", Side::buy, "1.1", "65000", c.order("bob", "BTC", Side::sell, "1", "65000")) == "maker_size");
    CHECK(open_with("BTC", Side::buy, "1", "64999", c.order("bob", "BTC", Side::sell, "1", "65000")) == "price_limit");
    CHECK(open_with("BTC", Side::sell, "1", "65001", c.order("bob", "BTC", Side::buy, "1", "65000")) == "price_limit");
    CHECK(open_with("BTC", Side::buy, "1", "65000", c.order("bob", "BTC", Side::buy, "1", "65000")) == "price_limit");
    CHECK(open_with("BTC", Side::buy, "0.1", "65000", c.order("bob", "BTC", Side::sell, "1", "65000", true)) == "reduce_only");
    CHECK(open_with("BTC", Side::buy, "0.00015", "65000", c.order("bob", "BTC", Side::sell, "1", "65000")) == "min_notional");
    CHECK(open_with("BTC", Side::buy, "100", "65000", c.order("bob", "BTC", Side::sell, "100", "65000")) == "insufficient_margin");
    CHECK(c.market("BTC").open_interest_lots == 0);
    CHECK(c.protocol().fee_pool_usd == 0);
    CHECK_FALSE(c.position("alice", "BTC").size_lots);
}

TEST_CASE("open: the maker order's signature, nonce and account") {
    Chain c;
    for (auto who : {"alice", "bob"}) c.apply(c.deposit(who, "100000"));
    SUBCASE("a tampered maker order") {
        MakerOrder order = c.order("bob", "BTC", Side::sell, "1", "65000");
        order.limit.text = "60000";
        CHECK(status(c.apply(c.open("alice", "BTC", Side::buy, "0.1", "65000", order))) == "bad_signature");
    }
    SUBCASE("an order signed for another market never fills here") {
        const MakerOrder order = c.order("bob", "ETH", Side::sell, "1", "65000");
        CHECK(status(c.apply(c.open("alice", "BTC", Side::buy, "0.1", "65000", order))) == "bad_signature");
    }
    SUBCASE("a maker order is used once") {
        const MakerOrder order = c.order("bob", "BTC", Side::sell, "1", "65000");
        CHECK(status(c.apply(c.open("alice", "BTC", Side::buy, "0.1", "65000", order))) == "ok");
        CHECK(status(c.apply(c.open("alice", "BTC", Side::buy, "0.1", "65000", order))) == "nonce_used");
    }
    SUBCASE("a maker order inside a rejected fill is not used") {
        const MakerOrder order = c.order("bob", "BTC", Side::sell, "1", "65000");
        CHECK(status(c.apply(c.open("alice", "BTC", Side::buy, "0.1", "64000", order))) == "price_limit");
        CHECK(status(c.apply(c.open("alice", "BTC", Side::buy, "0.1", "65000", order))) == "ok");
    }
    SUBCASE("an unknown maker") {
        const MakerOrder order = c.order("dave", "BTC", Side::sell, "1", "65000");
        CHECK(status(c.apply(c.open("alice", "BTC", Side::buy, "0.1", "65000", order))) == "unknown_account");
    }
}

TEST_CASE("reduce-only maker orders may reduce or close, never raise or flip") {
    Chain c;
    for (auto who : {"alice", "bob"}) c.apply(c.deposit(who, "100000"));
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.5", "65000")) == "ok");  // bob short 0.5
    auto reduce_only = [&](std::string size) {
        const MakerOrder order = c.order("bob", "BTC", Side::buy, size, "65000", true);
        return status(c.apply(c.open("alice", "BTC", Side::sell, size, "65000", order)));
    };
    CHECK(reduce_only("0.6") == "reduce_only");
    CHECK(reduce_only("0.2") == "ok");
    CHECK(reduce_only("0.3") == "ok");
    CHECK(c.position("bob", "BTC").size_lots == 0);
    CHECK(reduce_only("0.1") == "reduce_only");
}

TEST_CASE("min_notional applies to opening or raising, not to closing") {
    Chain c;
    for (auto who : {"alice", "bob"}) c.apply(c.deposit(who, "100000"));
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "SOL", "0.07", "150")) == "ok");  // 10.5 USD
    CHECK(status(trade(c, "alice", Side::sell, "bob", "SOL", "0.01", "150")) == "ok");  // 1.5 USD: both reduce
    CHECK(status(trade(c, "alice", Side::buy, "bob", "SOL", "0.01", "150")) == "min_notional");
    CHECK(status(trade(c, "alice", Side::sell, "bob", "SOL", "0.07", "140")) == "min_notional");  // 9.8 USD, flips both
    CHECK(status(trade(c, "alice", Side::sell, "bob", "SOL", "0.07", "150")) == "ok");            // 10.5 USD
}

// ---------------------------------------------------------------------------- withdrawals

TEST_CASE("withdraw and transfer need V >= max(cross IM, 10% of cross notional) afterwards") {
    Chain c;
    c.apply(c.deposit("alice", "10000"));
    c.apply(c.deposit("bob", "100000"));
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.5", "65000")) == "ok");
    // V = 9,985.375; requirement max(1,625, 3,250) = 3,250: 6,735.375 may leave.
    CHECK(status(c.apply(c.withdraw("alice", "6735.375001"))) == "insufficient_margin");
    CHECK(status(c.apply(c.transfer("alice", "carol", "6735.375001"))) == "insufficient_margin");
    CHECK(status(c.apply(c.transfer("alice", "carol", "735.375"))) == "ok");
    CHECK(status(c.apply(c.withdraw("alice", "6000"))) == "ok");
    CHECK(c.margin("alice").value_usd == usd(3'250));
    // Unrealized profit counts: after a rise of 1,000 USD, V = 3,750 against max(1,650, 3,300).
    set_price(c, "BTC", "66000");
    CHECK(status(c.apply(c.withdraw("alice", "450"))) == "ok");
    CHECK(status(c.apply(c.withdraw("alice", "0.000001"))) == "insufficient_margin");
}

// ---------------------------------------------------------------------------- set_leverage

TEST_CASE("set_leverage: raise freely, lower only while IM stays met, mode only without a position") {
    Chain c;
    c.apply(c.deposit("alice", "2000"));
    c.apply(c.deposit("bob", "100000"));
    CHECK(status(c.apply(c.set_leverage("alice", "BTC", 40))) == "ok");
    CHECK(c.position("alice", "BTC").leverage == 40);
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "1", "65000")) == "ok");  // IM 1,625 at 40x
    CHECK(c.margin("alice").initial_margin_usd == usd(1'625));
    CHECK(status(c.apply(c.set_leverage("alice", "BTC", 20))) == "insufficient_margin");  // IM 3,250 > V
    CHECK(status(c.apply(c.set_leverage("alice", "BTC", 35))) == "ok");
    CHECK(c.margin("alice").initial_margin_usd == 1'857'142'858);  // 65,000 / 35, rounded up
    CHECK(status(c.apply(c.set_leverage("alice", "BTC", 40))) == "ok");
    CHECK(status(c.apply(c.set_leverage("alice", "BTC", 40, MarginMode::isolated))) == "mode_locked");
    CHECK(status(c.apply(c.set_leverage("alice", "ETH", 25, MarginMode::isolated))) == "ok");
    CHECK(status(c.apply(c.set_leverage("alice", "ETH", 10, MarginMode::cross))) == "ok");
}

TEST_CASE("set_leverage rejections") {
    Chain c;
    c.apply(c.deposit("alice", "100"));
    CHECK(status(c.apply(c.set_leverage("alice", "DOGE", 5))) == "unknown_market");
    CHECK(status(c.apply(c.set_leverage("alice", "BTC", 0))) == "bad_amount");
    CHECK(status(c.apply(c.set_leverage("alice", "BTC", 41))) == "leverage_too_high");
    CHECK(status(c.apply(c.set_leverage("alice", "SOL", 21))) == "leverage_too_high");
    CHECK(status(c.apply(c.set_leverage("bob", "BTC", 5))) == "unknown_account");
    CHECK_FALSE(c.account("alice")->find("BTC"));
}

// ---------------------------------------------------------------------------- isolated

namespace {
// carol with `collateral`, BTC at 10x isolated; bob, rich, to trade with.
void isolated_carol(Chain& c, std::string collateral) {
    c.apply(c.deposit("carol", std::move(collateral)));
    c.apply(c.deposit("bob", "100000"));
    REQUIRE(status(c.apply(c.set_leverage("carol", "BTC", 10, MarginMode::isolated))) == "ok");
}
}  // namespace

TEST_CASE("isolated: opening moves IM into the position, top-up and removal, reduce releases the fraction") {
    Chain c;
    isolated_carol(c, "10000");
    REQUIRE(status(trade(c, "carol", Side::buy, "bob", "BTC", "0.5", "65000")) == "ok");
    // IM of 0.5 BTC at 65,000 with 10x = 3,250 moves out of collateral; the fee is paid from it.
    CHECK(c.position("carol", "BTC").isolated_margin_usd == usd(3'250));
    CHECK(c.collateral("carol") == usd(10'000 - 3'250) - 14'625'000);
    // The cross side holds no position: V is the collateral, no IM.
    CHECK(c.margin("carol").initial_margin_usd == 0);
    CHECK(c.position_margin("carol", "BTC").value_usd == usd(3'250));

    CHECK(status(c.apply(c.transfer_margin("carol", "BTC", "1000"))) == "ok");
    CHECK(c.position("carol", "BTC").isolated_margin_usd == usd(4'250));
    // Out: Vi must stay >= max(IM 3,250, 10% of 32,500).
    CHECK(status(c.apply(c.transfer_margin("carol", "BTC", "-1000.000001"))) == "insufficient_margin");
    CHECK(status(c.apply(c.transfer_margin("carol", "BTC", "-1000"))) == "ok");
    CHECK(c.position("carol", "BTC").isolated_margin_usd == usd(3'250));
    CHECK(status(c.apply(c.transfer_margin("carol", "BTC", "7000"))) == "insufficient_margin");  // collateral 5,735.375

    // Reduce 0.2 at 66,000: PnL +200 into the margin (3,450), then 2/5 of it released (1,380).
    const int64_t before = c.collateral("carol");
    REQUIRE(status(trade(c, "carol", Side::sell, "bob", "BTC", "0.2", "66000")) == "ok");
    CHECK(c.position("carol", "BTC").isolated_margin_usd == usd(2'070));
    CHECK(c.collateral("carol") == before + usd(1'380) - mul_div_ceil(usd(13'200), 450, ppm_one));
    // Close: everything left comes back.
    REQUIRE(status(trade(c, "carol", Side::sell, "bob", "BTC", "0.3", "65000")) == "ok");
    CHECK(c.position("carol", "BTC").isolated_margin_usd == 0);
    CHECK(c.position("carol", "BTC").mode == MarginMode::isolated);  // the setting stays
}

TEST_CASE("isolated: a fill above mark moves its immediate loss too, so Vi >= IM") {
    Chain c;
    isolated_carol(c, "10000");
    // Buy 0.5 at 66,000 with mark 65,000: IM at mark 3,250, immediate loss 500: 3,750 moves
    // (more than 33,000 / 10 = 3,300).
    REQUIRE(status(trade(c, "carol", Side::buy, "bob", "BTC", "0.5", "66000")) == "ok");
    CHECK(c.position("carol", "BTC").isolated_margin_usd == usd(3'750));
    const PositionMargin p = c.position_margin("carol", "BTC");
    CHECK(p.value_usd == p.initial_margin_usd);
}

TEST_CASE("isolated: the cross side must afford the margin, and a losing close may not leave bad debt") {
    Chain c;
    isolated_carol(c, "3000");
    CHECK(status(trade(c, "carol", Side::buy, "bob", "BTC", "0.5", "65000")) == "insufficient_margin");
    REQUIRE(status(trade(c, "carol", Side::buy, "bob", "BTC", "0.4", "65000")) == "ok");  // 2,600 moves
    set_price(c, "BTC", "58000");
    // Vi = 2,600 - 2,800 < 0: closing at mark would leave the isolated margin negative.
    CHECK(status(trade(c, "carol", Side::sell, "bob", "BTC", "0.4", "58000")) == "insufficient_margin");
    CHECK(status(trade(c, "carol", Side::sell, "bob", "BTC", "0.4", "59000")) == "ok");  // Vi 200
    CHECK(c.position("carol", "BTC").isolated_margin_usd == 0);
}

TEST_CASE("isolated: funding is settled from the margin, and what it cannot pay moves into cost") {
    Chain c;
    isolated_carol(c, "10000");
    REQUIRE(status(trade(c, "carol", Side::buy, "bob", "BTC", "0.5", "65000")) == "ok");
    set_price(c, "BTC", "200000");  // Vi = 3,250 + 67,500
    // 3 intervals at 4% of 200,000 * 0.5 = 4,000 each: 12,000 owed against 3,250 of margin.
    for (int i = 0; i < 3; ++i) REQUIRE(status(c.apply(c.funding({{"BTC", 40'000'000}}))) == "ok");
    const int64_t vi_before = c.position_margin("carol", "BTC").value_usd;
    CHECK(vi_before == usd(3'250 + 67'500 - 12'000));
    REQUIRE(status(c.apply(c.transfer_margin("carol", "BTC", "1"))) == "ok");  // touch: settles
    CHECK(c.position("carol", "BTC").isolated_margin_usd == usd(1));
    CHECK(c.position("carol", "BTC").cost_usd == usd(32'500 + 12'000 - 3'250));
    CHECK(c.position_margin("carol", "BTC").value_usd == vi_before + usd(1));
    CHECK(c.market("BTC").funding_pool_usd == usd(12'000));
}

TEST_CASE("transfer_margin rejections") {
    Chain c;
    c.apply(c.deposit("alice", "10000"));
    c.apply(c.deposit("bob", "100000"));
    CHECK(status(c.apply(c.transfer_margin("alice", "DOGE", "1"))) == "unknown_market");
    CHECK(status(c.apply(c.transfer_margin("alice", "BTC", "0"))) == "bad_amount");
    CHECK(status(c.apply(c.transfer_margin("alice", "BTC", "1.0000001"))) == "bad_amount");
    CHECK(status(c.apply(c.transfer_margin("alice", "BTC", "-99999999999999"))) == "overflow");
    CHECK(status(c.apply(c.transfer_margin("alice", "BTC", "1"))) == "no_isolated_position");
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.1", "65000")) == "ok");  // cross
    CHECK(status(c.apply(c.transfer_margin("alice", "BTC", "1"))) == "no_isolated_position");
    REQUIRE(status(c.apply(c.set_leverage("alice", "ETH", 5, MarginMode::isolated))) == "ok");
    CHECK(status(c.apply(c.transfer_margin("alice", "ETH", "1"))) == "no_isolated_position");  // setting only
}

// ---------------------------------------------------------------------------- liquidation price

namespace {

// At the liquidation price moved one tick away from mark the position is liquidatable (V < MM),
// one tick toward mark it is not; checked by revaluing at those marks.
void check_liquidation_price(const Chain& c, std::string_view name, const std::string& market) {
    const AccountRecord account = c.account(name).value();
    const MarketPosition position = *account.find(market);
    MarketBook book = load_book(CommittedRecords(c.state()), account);
    const auto liq = liquidation_price(account, position, book, c.genesis.params);
    REQUIRE(liq);
    const int64_t tick = price_tick(*liq, book.at(market).size_decimals);
    const int64_t beyond = position.size_lots > 0 ? *liq - tick : *liq + tick;
    const int64_t before = position.size_lots > 0 ? *liq + tick : *liq - tick;
    auto liquidatable_at = [&](int64_t mark) {
        book.at(market).mark_price = mark;
        if (position.mode == MarginMode::isolated)
            return isolated_liquidatable(clearnode::position_margin(position, book.at(market), c.genesis.params));
        return cross_liquidatable(account_margin(account, book, c.genesis.params));
    };
    CHECK_MESSAGE(liquidatable_at(beyond), name << " " << market << " at " << beyond);
    CHECK_MESSAGE(!liquidatable_at(before), name << " " << market << " at " << before);
}

}  // namespace

TEST_CASE("liquidation price: Hyperliquid's closed form, checked one tick either side") {
    Chain c;
    c.apply(c.deposit("alice", "1640"));
    c.apply(c.deposit("bob", "100000"));
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.5", "65000")) == "ok");
    // 65,000 - (1,625.375 - 406.25) / 0.5 / (1 - 0.0125) = 62,530.886075..., rounded down.
    const AccountRecord alice = c.account("alice").value();
    CHECK(liquidation_price(alice, *alice.find("BTC"), load_book(CommittedRecords(c.state()), alice), c.genesis.params) == 62'530'886'075);
    check_liquidation_price(c, "alice", "BTC");
    check_liquidation_price(c, "bob", "BTC");
    // Through the engine: the oracle moves the mark one tick either side.
    set_price(c, "BTC", "62531.886075");
    CHECK_FALSE(cross_liquidatable(c.margin("alice")));
    set_price(c, "BTC", "62529.886075");
    CHECK(cross_liquidatable(c.margin("alice")));
}

TEST_CASE("liquidation price: shorts, isolated positions, several cross positions, across a tier floor") {
    Chain c;
    for (auto who : {"bob", "carol", "dave"}) c.apply(c.deposit(who, "20000000"));
    c.apply(c.deposit("alice", "8000"));
    REQUIRE(status(trade(c, "alice", Side::sell, "bob", "ETH", "10", "3200")) == "ok");
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "SOL", "100", "150")) == "ok");
    check_liquidation_price(c, "alice", "ETH");
    check_liquidation_price(c, "alice", "SOL");
    REQUIRE(status(c.apply(c.set_leverage("carol", "BTC", 10, MarginMode::isolated))) == "ok");
    REQUIRE(status(trade(c, "carol", Side::sell, "bob", "BTC", "3", "65000")) == "ok");
    check_liquidation_price(c, "carol", "BTC");
    // dave: a long of 151,000,000 USD notional (tier 1) whose liquidation price falls in tier 0.
    REQUIRE(status(c.apply(c.set_leverage("dave", "BTC", 20))) == "ok");
    REQUIRE(status(trade(c, "dave", Side::buy, "bob", "BTC", "2323.0769", "65000")) == "ok");
    CHECK(c.position_margin("dave", "BTC").tier == 1);
    check_liquidation_price(c, "dave", "BTC");
    // bob: the other side of both, a short of 2,320 BTC in tier 1.
    check_liquidation_price(c, "bob", "BTC");
}

TEST_CASE("the README's worked example") {
    Chain c;
    c.apply(c.deposit("alice", "10000"));
    c.apply(c.deposit("bob", "100000"));
    REQUIRE(status(c.apply(c.set_leverage("alice", "BTC", 10))) == "ok");
    REQUIRE(status(trade(c, "alice", Side::buy, "bob", "BTC", "0.5", "65000")) == "ok");
    AccountMargin m = c.margin("alice");
    CHECK(c.collateral("alice") == 9'985'375'000);
    CHECK(m.value_usd == 9'985'375'000);
    CHECK(m.initial_margin_usd == usd(3'250));
    CHECK(m.maintenance_margin_usd == 406'250'000);
    CHECK(m.transfer_requirement_usd == usd(3'250));
    set_price(c, "BTC", "66000");
    REQUIRE(status(c.apply(c.funding({{"BTC", 125'000}}))) == "ok");
    m = c.margin("alice");
    CHECK(c.position_margin("alice", "BTC").upnl_usd == usd(500));
    CHECK(c.position_margin("alice", "BTC").funding_owed_usd == 4'125'000);
    CHECK(m.value_usd == 10'481'250'000);
    CHECK(m.initial_margin_usd == usd(3'300));
    CHECK(m.maintenance_margin_usd == 412'500'000);
    CHECK(m.transfer_requirement_usd == usd(3'300));
    const AccountRecord alice = c.account("alice").value();
    CHECK(liquidation_price(alice, *alice.find("BTC"), load_book(CommittedRecords(c.state()), alice), c.genesis.params) == 45'607'594'936);
    check_liquidation_price(c, "alice", "BTC");
    // Withdrawable: V - requirement.
    CHECK(status(c.apply(c.withdraw("alice", "7181.250001"))) == "insufficient_margin");
    CHECK(status(c.apply(c.withdraw("alice", "7181.25"))) == "ok");
}

TEST_CASE("a fill's receipt: funding settled, the fill, fees, isolated margin moved") {
    Chain c;
    isolated_carol(c, "10000");
    REQUIRE(status(trade(c, "bob", Side::sell, "carol", "BTC", "0.5", "65000")) == "ok");  // carol is the maker
    REQUIRE(status(c.apply(c.funding({{"BTC", 125'000}}))) == "ok");
    const Receipt r = trade(c, "bob", Side::buy, "carol", "BTC", "0.5", "65000");
    REQUIRE(status(r) == "ok");
    std::vector<std::string> kinds;
    for (const auto& e : r.events) kinds.push_back(e.kind);
    // bob (buyer, short) settles first, then carol; the fill; carol's margin back; both fees.
    // The pool is back to 0 (exact amounts, no residue): nothing to sweep.
    CHECK(kinds == std::vector<std::string>{"funding", "funding", "fill", "isolated_margin", "fee", "fee"});
    auto field = [](const Event& e, const std::string& name) {
        for (const auto& [k, v] : e.fields)
            if (k == name) return v.text();
        return std::string("<missing>");
    };
    CHECK(field(r.events[0], "paid") == "-4.0625");
    CHECK(field(r.events[1], "paid") == "4.0625");
    CHECK(field(r.events[2], "notional") == "32500");
    CHECK(field(r.events[2], "buyer") == to_hex(id("bob")));
    CHECK(field(r.events[3], "amount") == "-3245.9375");  // 3,250 less the funding it paid
    CHECK(field(r.events[4], "amount") == "14.625");
}

TEST_CASE("execute_fill: one notional in both books, rounded as the caller says, at any price") {
    // What liquidation (at mark) and ADL (at the bankruptcy price) rely on: no tick rule, the
    // rounding direction chosen by the caller, I1 and I2 kept by the primitive alone.
    MarketRecord market{"BTC", 5, {{0, 40}, {usd(150'000'000), 20}}, usd(65'000), 0, 0, 0};
    for (const Rounding rounding : {Rounding::down, Rounding::up}) {
        AccountRecord buyer{usd(1'000), {}, {}};
        AccountRecord seller{usd(1'000), {}, {}};
        ProtocolRecord protocol{};
        std::vector<Event> events;
        const AccountId buyer_id = id("buyer");
        const AccountId seller_id = id("seller");
        MarketRecord m = market;
        // 3 lots at 65,000.000001: 1.95000000003 USD.
        const FillResult f = execute_fill(m, protocol, Params{}, {buyer_id, buyer}, {seller_id, seller}, 3, usd(65'000) + 1, rounding, events);
        CHECK(f.notional_usd == (rounding == Rounding::up ? 1'950'001 : 1'950'000));
        CHECK(buyer.find("BTC")->cost_usd == f.notional_usd);
        CHECK(seller.find("BTC")->cost_usd == -f.notional_usd);
        CHECK(m.open_interest_lots == 3);
        CHECK(f.buyer.raised);
        CHECK(f.seller.raised);
        // Close at a price with a remainder: the buyer sells 2 of 3 back, down and up.
        const FillResult back = execute_fill(m, protocol, Params{}, {seller_id, seller}, {buyer_id, buyer}, 2, usd(64'000) + 7, rounding, events);
        CHECK_FALSE(back.seller.raised);
        CHECK(back.seller.size_after_lots == 1);
        // cost released: ceil(notional * 2 / 3); PnL = notional back - released.
        const int64_t released = mul_div_ceil(f.notional_usd, 2, 3);
        CHECK(back.seller.realized_pnl_usd == back.notional_usd - released);
        CHECK(buyer.collateral_usd == usd(1'000) + back.seller.realized_pnl_usd);
        // I2 over these two accounts: collateral - cost sums to what they started with.
        const Wide held = Wide(buyer.collateral_usd) + seller.collateral_usd - buyer.find("BTC")->cost_usd - seller.find("BTC")->cost_usd;
        CHECK(held == usd(2'000));
        CHECK(m.open_interest_lots == 1);
    }
}

TEST_CASE("open: a notional beyond int64 is overflow, and changes nothing") {
    Chain c;
    for (auto who : {"alice", "bob"}) c.apply(c.deposit(who, "100000"));
    // 90,000,000,000,000 BTC fits int64 lots (9e18) but its notional does not.
    CHECK(status(trade(c, "alice", Side::buy, "bob", "BTC", "90000000000000", "65000")) == "overflow");
    CHECK(c.market("BTC").open_interest_lots == 0);
}
