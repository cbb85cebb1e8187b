#include "testkit.hpp"

namespace clearnode::test {

Chain::Chain(Genesis g) : genesis(std::move(g)), time_ms(genesis.genesis_time_ms) {
    std::string error;
    engine = Engine::genesis(store, genesis, error);
    REQUIRE_MESSAGE(engine, error);
}

uint64_t Chain::next_nonce(std::string_view name) {
    auto it = next_nonce_.find(name);
    if (it == next_nonce_.end()) it = next_nonce_.emplace(std::string(name), 1).first;
    return it->second++;
}

Tx Chain::resign(Tx tx, std::string_view signer_name, std::string_view chain_id) const {
    const std::string chain = chain_id.empty() ? genesis.chain_id : std::string(chain_id);
    tx.sig = sign(key(signer_name).secret_key, as_bytes(tx_signing_digest(tx, chain)));
    return tx;
}

Tx Chain::make(std::string_view signer_name, TxBody body) {
    Tx tx;
    tx.signer = id(signer_name);
    tx.nonce = next_nonce(signer_name);
    tx.body = std::move(body);
    return resign(std::move(tx), signer_name);
}

MakerOrder Chain::order(std::string_view maker_name, std::string_view market, Side side, std::string size,
                        std::string limit, bool reduce_only) {
    MakerOrder o;
    o.account = id(maker_name);
    o.side = side;
    o.size = DecimalText{std::move(size)};
    o.limit = DecimalText{std::move(limit)};
    o.reduce_only = reduce_only;
    o.nonce = next_nonce(maker_name);
    o.sig = sign(key(maker_name).secret_key, as_bytes(order_signing_digest(o, market, genesis.chain_id)));
    return o;
}

Tx Chain::deposit(std::string_view to, std::string amount) { return make("bridge", Deposit{id(to), {std::move(amount)}}); }
Tx Chain::withdraw(std::string_view who, std::string amount) { return make(who, Withdraw{{std::move(amount)}}); }
Tx Chain::transfer(std::string_view from, std::string_view to, std::string amount) {
    return make(from, Transfer{id(to), {std::move(amount)}});
}
Tx Chain::price(std::vector<MarketPrice> prices) { return make("oracle", PriceUpdate{std::move(prices)}); }
Tx Chain::funding(std::vector<MarketRate> rates) { return make("oracle", FundingUpdate{std::move(rates)}); }
Tx Chain::set_leverage(std::string_view who, std::string market, uint32_t leverage, MarginMode mode) {
    return make(who, SetLeverage{std::move(market), leverage, mode});
}
Tx Chain::transfer_margin(std::string_view who, std::string market, std::string amount) {
    return make(who, TransferMargin{std::move(market), {std::move(amount)}});
}
Tx Chain::open(std::string_view taker, std::string market, Side side, std::string size, std::string price, MakerOrder maker) {
    return make(taker, Open{std::move(market), side, {std::move(size)}, {std::move(price)}, std::move(maker)});
}
Tx Chain::liquidate(std::string_view keeper, std::string_view target, std::string market) {
    return make(keeper, Liquidate{id(target), std::move(market)});
}
Tx Chain::adl(std::string_view keeper, std::string_view target, std::string market) {
    return make(keeper, Adl{id(target), std::move(market)});
}

BlockResult Chain::apply_block(const std::vector<Tx>& txs, int64_t time_step_ms) {
    time_ms += time_step_ms;
    Block block{{engine->height() + 1, time_ms}, txs};
    std::string error;
    auto result = engine->apply_block(block, 1, error);
    REQUIRE_MESSAGE(result, error);
    const std::string broken = check_invariants(store);
    CHECK_MESSAGE(broken.empty(), broken);
    return *result;
}

Receipt Chain::apply(const Tx& tx) {
    const auto before = snapshot(store);
    Receipt receipt = apply_block({tx}).receipts.at(0);
    if (receipt.status == Reason::ok) return receipt;
    // I5: a rejection changes nothing, but the signer's nonce once the nonce check passed.
    const std::string broken = check_rejection(before, snapshot(store), tx, receipt.status);
    CHECK_MESSAGE(broken.empty(), broken);
    return receipt;
}

std::optional<AccountRecord> Chain::account(std::string_view name) const { return load_account(store, id(name)); }
int64_t Chain::collateral(std::string_view name) const {
    const auto a = account(name);
    return a ? a->collateral_usd : 0;
}
MarketRecord Chain::market(std::string_view symbol) const { return load_market(store, symbol).value(); }
ProtocolRecord Chain::protocol() const { return load_protocol(store); }

MarketPosition Chain::position(std::string_view name, std::string_view market) const {
    const auto a = account(name);
    const MarketPosition* p = a ? a->find(market) : nullptr;
    if (p != nullptr) return *p;
    MarketPosition fresh;
    fresh.market = std::string(market);
    return fresh;
}

AccountMargin Chain::margin(std::string_view name) const {
    const AccountRecord a = account(name).value_or(AccountRecord{});
    return account_margin(a, load_book(CommittedRecords(store), a), genesis.params);
}

PositionMargin Chain::position_margin(std::string_view name, std::string_view market) const {
    return clearnode::position_margin(position(name, market), this->market(market), genesis.params);
}

Receipt trade(Chain& c, std::string_view taker, Side side, std::string_view maker, std::string market,
              std::string size, std::string price) {
    const Side maker_side = side == Side::buy ? Side::sell : Side::buy;
    const MakerOrder order = c.order(maker, market, maker_side, size, price);
    return c.apply(c.open(taker, market, side, size, price, order));
}

Receipt set_price(Chain& c, std::string market, std::string price) {
    return c.apply(c.price({{std::move(market), {std::move(price)}}}));
}

}  // namespace clearnode::test
