// The typed record layers must store exactly what the byte-level path stores: the same
// entries, the same "holder/" index, the same bytes, and so the same state root.
#include "state/record_layers.hpp"
#include "testkit.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <thread>

using namespace clearnode;
using namespace clearnode::test;

namespace {

AccountRecord holding(int64_t collateral_usd, std::vector<std::pair<std::string, int64_t>> sizes) {
    AccountRecord a;
    a.collateral_usd = collateral_usd;
    for (const auto& [market, size_lots] : sizes) a.entry(market).size_lots = size_lots;
    return a;
}

// The committed store: alice holds BTC, bob holds BTC and ETH.
MemoryStore committed_store() {
    MemoryStore store;
    Overlay view(store);
    save(view, ProtocolRecord{7, 0, 7, 0});
    save(view, MarketRecord{"BTC", 5, {{0, 50}}, 65'000'000'000, 0, 0, 0});
    save(view, MarketRecord{"ETH", 4, {{0, 25}}, 3'000'000'000, 0, 0, 0});
    save(view, id("alice"), holding(100, {{"BTC", 3}}));
    save(view, id("bob"), holding(200, {{"BTC", -3}, {"ETH", 1}}));
    NonceWindow w;
    w.use(1);
    save(view, id("alice"), w);
    REQUIRE(store.commit(view.writes()).ok());
    return store;
}

}  // namespace

TEST_CASE("a transaction layer reads its own writes first and leaves its block alone until merged") {
    const MemoryStore store = committed_store();
    CommittedRecords committed(store);
    BlockLayer block(committed);
    REQUIRE(block.account(id("alice"))->collateral_usd == 100);
    CHECK(block.account(id("carol")) == nullptr);
    CHECK(block.nonces(id("bob")) == nullptr);
    CHECK(block.market_symbols() == std::vector<std::string>{"BTC", "ETH"});
    {
        RecordLayer tx = block.layer();
        save(tx, id("alice"), holding(50, {{"BTC", 3}}));
        CHECK(tx.account(id("alice"))->collateral_usd == 50);
        CHECK(block.account(id("alice"))->collateral_usd == 100);
        // dropped: a rejection
    }
    CHECK(block.account(id("alice"))->collateral_usd == 100);
    RecordLayer tx = block.layer();
    save(tx, id("carol"), holding(5, {}));
    ProtocolRecord p = tx.protocol();
    p.fee_pool_usd = 3;
    save(tx, p);
    tx.merge_into(block);
    CHECK(block.account(id("carol"))->collateral_usd == 5);
    CHECK(block.protocol().fee_pool_usd == 3);
    CHECK(committed.protocol().fee_pool_usd == 0);
    CHECK(committed.account(id("carol")) == nullptr);
}

TEST_CASE("a block's writes are unseen by committed reads, dropped unless absorbed, and absorbed into the committed slots") {
    const MemoryStore store = committed_store();
    CommittedRecords committed(store);
    {
        BlockLayer block(committed);
        save(block, id("alice"), holding(1, {{"BTC", 3}}));
        NonceWindow w = load_nonces(block, id("alice"));
        w.use(2);
        save(block, id("alice"), w);
        CHECK(block.account(id("alice"))->collateral_usd == 1);
        CHECK(committed.account(id("alice"))->collateral_usd == 100);
        CHECK(committed.nonces(id("alice"))->nonces == std::vector<uint64_t>{1});
        block.discard();
        CHECK(block.account(id("alice"))->collateral_usd == 100);
        CHECK(block.encode_changes().empty());
        save(block, id("bob"), holding(2, {{"BTC", -3}, {"ETH", 1}}));
        // leaves scope without absorb: a block that failed
    }
    BlockLayer next(committed);  // a block may open again: the one before is closed
    CHECK(next.account(id("bob"))->collateral_usd == 200);
    CHECK(next.nonces(id("alice"))->nonces == std::vector<uint64_t>{1});
    save(next, id("bob"), holding(3, {{"BTC", -3}, {"ETH", 1}}));
    const auto changes = next.encode_changes();
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].key == keys::account(id("bob")));
    committed.absorb(next);
    CHECK(committed.account(id("bob"))->collateral_usd == 3);
    CHECK(next.encode_changes().empty());  // absorb leaves the block empty
}

TEST_CASE("an account changed in place is the writer's own copy: made once, unseen below until merged or absorbed") {
    MemoryStore store = committed_store();
    CommittedRecords committed(store);
    BlockLayer block(committed);
    CHECK(block.account_to_change(id("carol")) == nullptr);
    AccountRecord* alice = block.account_to_change(id("alice"));
    REQUIRE(alice != nullptr);
    alice->collateral_usd = 1;
    CHECK(block.account_to_change(id("alice")) == alice);  // the same copy, not a fresh one
    CHECK(block.account(id("alice")) == alice);
    CHECK(committed.account(id("alice"))->collateral_usd == 100);
    {
        RecordLayer tx = block.layer();
        tx.account_to_change(id("alice"))->collateral_usd = 2;
        CHECK(block.account(id("alice"))->collateral_usd == 1);
        tx.merge_into(block);
    }
    CHECK(block.account(id("alice"))->collateral_usd == 2);
    const auto changes = block.encode_changes();
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].new_value == encode(*block.account(id("alice"))));
    WriteSet writes;
    for (const auto& c : changes) writes.emplace(c.key, c.new_value);
    REQUIRE(store.commit(writes).ok());
    committed.absorb(block);
    CHECK(committed.account(id("alice"))->collateral_usd == 2);
}

TEST_CASE("holders see positions opened and closed in the layers above the committed index") {
    const MemoryStore store = committed_store();
    CommittedRecords committed(store);
    CHECK(committed.holders("BTC") == (id("alice") < id("bob") ? std::vector{id("alice"), id("bob")} : std::vector{id("bob"), id("alice")}));
    BlockLayer block(committed);
    save(block, id("alice"), holding(100, {}));                // closes BTC
    RecordLayer tx = block.layer();
    save(tx, id("carol"), holding(1, {{"ETH", -1}}));          // opens ETH
    CHECK(tx.holders("BTC") == std::vector{id("bob")});
    auto eth = tx.holders("ETH");
    CHECK(eth == (id("bob") < id("carol") ? std::vector{id("bob"), id("carol")} : std::vector{id("carol"), id("bob")}));
    CHECK(block.holders("ETH") == std::vector{id("bob")});
}

TEST_CASE("a block's changes are the bytes the byte-level path writes, index included, unchanged records left out") {
    const MemoryStore store = committed_store();
    CommittedRecords committed(store);
    BlockLayer block(committed);
    Overlay bytes(store);
    auto both = [&](const AccountId& who, const AccountRecord& r) {
        save(block, who, r);
        save(bytes, who, r);
    };
    both(id("alice"), holding(100, {{"ETH", 2}}));             // BTC closed, ETH opened
    both(id("bob"), holding(200, {{"BTC", -3}, {"ETH", 1}}));   // unchanged
    both(id("carol"), holding(9, {}));                          // new account
    NonceWindow w = load_nonces(block, id("alice"));
    w.use(2);
    save(block, id("alice"), w);
    save(bytes, id("alice"), w);
    const auto changes = block.encode_changes();
    WriteSet expected;
    for (const auto& [key, value] : bytes.writes())
        if (store.get(key) != value) expected.emplace(key, value);
    WriteSet got;
    for (const auto& c : changes) {
        CHECK(c.old_value == store.get(c.key));
        got.emplace(c.key, c.new_value);
    }
    CHECK(got == expected);
    CHECK(got.count(keys::account(id("bob"))) == 0);
    CHECK(got.count(keys::holder("BTC", id("alice"))) == 1);
    CHECK(std::is_sorted(changes.begin(), changes.end(), [](const auto& a, const auto& b) { return a.key < b.key; }));
}

TEST_CASE("a block's changes encode the same on one thread and on several") {
    MemoryStore store = committed_store();
    CommittedRecords committed(store);
    BlockLayer block(committed);
    for (int i = 0; i < 1000; ++i) {  // enough accounts for several slices of 256
        const AccountId who = id("trader-" + std::to_string(i));
        const int64_t size = i % 3 == 0 ? 0 : (i % 2 == 0 ? i : -i);
        save(block, who, holding(1000 + i, {{"BTC", size}}));
    }
    AccountRecord bob = *block.account(id("bob"));
    bob.markets.clear();  // closes two positions: two holder entries go
    save(block, id("bob"), bob);
    // Changes besides accounts ("nonces/", "protocol") sort in among the accounts' own.
    save(block, id("bridge"), NonceWindow{{1, 2, 3}});
    ProtocolRecord protocol = block.protocol();
    protocol.fee_pool_usd += 1;
    save(block, protocol);
    const auto by_key = [](const EntryChange& a, const EntryChange& b) { return a.key < b.key; };
    const auto one = block.encode_changes();
    REQUIRE(one.size() > 1000);
    CHECK(std::is_sorted(one.begin(), one.end(), by_key));
    CHECK(std::adjacent_find(one.begin(), one.end(), [](const auto& a, const auto& b) { return a.key == b.key; }) == one.end());
    CHECK(std::count_if(one.begin(), one.end(), [](const auto& c) { return c.key == keys::protocol() || c.key == keys::nonces(id("bridge")); }) == 2);
    for (unsigned threads : {2u, 3u, 8u}) {
        WorkerPool helpers(threads - 1);
        const auto many = block.encode_changes(helpers);
        REQUIRE(many.size() == one.size());
        CHECK(std::is_sorted(many.begin(), many.end(), by_key));
        for (size_t i = 0; i < one.size(); ++i) {
            CHECK(many[i].key == one[i].key);
            CHECK(many[i].old_value == one[i].old_value);
            CHECK(many[i].new_value == one[i].new_value);
        }
    }
}

TEST_CASE("an engine hashing, encoding and updating the root on several threads reaches what it reaches on one") {
    Chain one;
    Chain several;
    several.engine->set_threads(3);
    std::vector<Tx> deposits;
    for (int i = 0; i < 700; ++i) deposits.push_back(one.deposit("holder-" + std::to_string(i), std::to_string(100 + i)));
    // 700 new accounts: the transaction hashes and the encoding run in two slices of at least 256,
    // the root's leaves in three.
    const BlockResult a = one.apply_block(deposits);
    const BlockResult b = several.apply_block(deposits);
    CHECK(a.ok_count() == deposits.size());
    CHECK(b.state_root == a.state_root);
    CHECK(b.block_hash == a.block_hash);
    REQUIRE(b.receipts.size() == deposits.size());
    for (size_t i = 0; i < deposits.size(); ++i) REQUIRE(b.receipts[i].tx_hash == tx_hash(deposits[i]));
    CHECK(snapshot(several.state()) == snapshot(one.state()));
}

TEST_CASE("an engine on one thread or two reaches the root from scratch when blocks rewrite committed accounts") {
    // 1,200 accounts, then a block of 1,200 transfers among them (committed slots loaded from
    // the store, without leaf seeds), then one that writes every account again (the seeds
    // kept from the block before): pairs of transfers there and back, which leave balances as
    // they were and change each account by the nonce it spends.
    constexpr int accounts = 1200;
    const auto name = [](int i) { return "trader-" + std::to_string(i); };
    Chain one;
    Chain two;
    two.engine->set_threads(2);
    std::vector<Tx> deposits;
    for (int i = 0; i < accounts; ++i) deposits.push_back(one.deposit(name(i), "1000"));
    std::vector<Tx> transfers;
    for (int i = 0; i < accounts; ++i) transfers.push_back(one.transfer(name(i), name((i * 7 + 1) % accounts), "3"));
    std::vector<Tx> round_trips;
    for (int i = 0; i + 1 < accounts; i += 2) {
        round_trips.push_back(one.transfer(name(i), name(i + 1), "5"));
        round_trips.push_back(one.transfer(name(i + 1), name(i), "5"));
    }
    for (const auto* block : {&deposits, &transfers, &round_trips}) {
        const BlockResult a = one.apply_block(*block);
        const BlockResult b = two.apply_block(*block);
        CHECK(a.ok_count() == block->size());
        CHECK(b.state_root == a.state_root);
        CHECK(a.state_root == StateCommitment::from_scratch(one.state()).root());
        CHECK(snapshot(two.state()) == snapshot(one.state()));
        std::string error;
        CHECK_MESSAGE(Engine::open(two.store, true, error), error);  // the stored accumulator is the root from scratch
    }
}

namespace {
// A MemoryStore whose commits fail, writing nothing, while `failing` is set (a full disk).
class StoreThatFails final : public Store {
public:
    std::optional<std::string> get(std::string_view key) const override { return inner.get(key); }
    void scan(std::string_view prefix, const ScanVisitor& visit) const override { inner.scan(prefix, visit); }
    Status commit(const WriteSet& writes) override { return failing ? Status{"disk full"} : inner.commit(writes); }
    MemoryStore inner;
    bool failing = false;
};
}  // namespace

TEST_CASE("a block whose store write fails leaves the engine as it was, on one thread or two") {
    for (const unsigned threads : {1u, 2u}) {
        CAPTURE(threads);
        Chain reference;  // never fails; it also signs the transactions
        StoreThatFails store;
        std::string error;
        auto engine = Engine::genesis(store, reference.genesis, error);
        REQUIRE_MESSAGE(engine, error);
        engine->set_threads(threads);
        const auto apply = [&](const std::vector<Tx>& txs, int64_t time_ms) {
            return engine->apply_block(Block{{engine->height() + 1, time_ms}, txs}, 1, error);
        };

        const std::vector<Tx> first{reference.deposit("alice", "100"), reference.deposit("bob", "50")};
        REQUIRE(apply(first, reference.time_ms + 1000));
        reference.apply_block(first);
        REQUIRE(engine->state_root() == reference.engine->state_root());

        // alice is now a committed record in the engine's cache; the failed block changes her.
        const std::vector<Tx> second{reference.transfer("alice", "bob", "30"), reference.deposit("carol", "7")};
        const auto before = snapshot(store.inner);
        store.failing = true;
        CHECK_FALSE(apply(second, reference.time_ms + 1000));
        CHECK(error == "disk full");
        CHECK(engine->height() == 1);
        CHECK(engine->state_root() == reference.engine->state_root());
        CHECK(snapshot(store.inner) == before);
        const AccountRecord* alice = engine->records().account(id("alice"));
        REQUIRE(alice != nullptr);
        CHECK(alice->collateral_usd == usd(100));  // not the failed block's 70

        // The same block again, and one after it, reach the reference's roots and entries: nothing
        // of the failed attempt stayed in the committed records.
        store.failing = false;
        const auto again = apply(second, reference.time_ms + 1000);
        REQUIRE_MESSAGE(again, error);
        CHECK(again->ok_count() == second.size());
        reference.apply_block(second);
        CHECK(engine->state_root() == reference.engine->state_root());
        const std::vector<Tx> third{reference.transfer("bob", "alice", "5")};
        REQUIRE(apply(third, reference.time_ms + 1000));
        reference.apply_block(third);
        CHECK(engine->state_root() == reference.engine->state_root());
        CHECK(snapshot(store.inner) == snapshot(reference.store));
    }
}

TEST_CASE("committed records stay equal to the store through absorb and trimming to their byte bound") {
    MemoryStore store = committed_store();
    const std::vector<std::string> names{"alice", "bob", "carol", "dave"};
    size_t all_bytes = 0;  // what the four accounts are charged when all are cached
    {
        CommittedRecords probe(store);
        for (const auto& who : names) (void)probe.account(id(who));
        CHECK(probe.entries() == 4);
        all_bytes = probe.bytes();
        CHECK(all_bytes > 4 * sizeof(AccountRecord));
    }
    const size_t bytes_max = all_bytes * 2 / 3;  // a trim keeps at most half of the four's bytes
    CommittedRecords committed(store, bytes_max);
    size_t rounds_trimmed = 0;
    size_t rounds_with_two_kept = 0;
    for (size_t round = 0; round < 8; ++round) {
        BlockLayer block(committed);
        for (const auto& who : {names[round % 4], names[(round + 1) % 4]}) {
            AccountRecord a = load_account(block, id(who)).value_or(AccountRecord{});
            a.collateral_usd += 10;
            save(block, id(who), a);
        }
        WriteSet writes;
        for (auto& c : block.encode_changes()) writes.emplace(c.key, c.new_value);
        REQUIRE(store.commit(writes).ok());
        committed.absorb(block);
        CHECK(committed.bytes() <= bytes_max);
        if (committed.entries() < std::min<size_t>(4, round + 2)) ++rounds_trimmed;
        if (committed.entries() >= 2) ++rounds_with_two_kept;
    }
    CHECK(rounds_trimmed > 0);
    CHECK(rounds_with_two_kept > 0);  // the newest block's entries stay when they fit
    for (const auto& who : names) CHECK(committed.account(id(who))->collateral_usd == load_account(store, id(who))->collateral_usd);
    CHECK(load_account(store, id("dave"))->collateral_usd == 40);
}

namespace {
// A MemoryStore that counts its reads.
class StoreThatCounts final : public StateReader {
public:
    std::optional<std::string> get(std::string_view key) const override {
        ++gets;
        return inner.get(key);
    }
    void scan(std::string_view prefix, const ScanVisitor& visit) const override { inner.scan(prefix, visit); }
    MemoryStore inner;
    mutable size_t gets = 0;
};
}  // namespace

TEST_CASE("prefetching accounts reads nothing from the store and changes no cached record") {
    StoreThatCounts store;
    store.inner = committed_store();
    CommittedRecords committed(store);
    const AccountId alice = id("alice"), bob = id("bob"), nobody = id("nobody");
    const std::vector<const AccountId*> none_cached{&alice, &bob, &nobody};
    committed.prefetch_accounts(none_cached);  // nothing cached yet: nothing to fetch
    CHECK(store.gets == 0);
    CHECK(committed.entries() == 0);
    REQUIRE(committed.account(alice) != nullptr);
    CHECK(committed.account(nobody) == nullptr);  // cached as absent
    const size_t gets = store.gets;
    const size_t entries = committed.entries();
    const size_t bytes = committed.bytes();
    const AccountRecord alice_before = *committed.account(alice);
    const std::vector<const AccountId*> mixed{&alice, &nobody, &bob, &alice, &nobody};  // repeats, absent, uncached
    committed.prefetch_accounts(mixed);
    committed.prefetch_accounts({});
    CHECK(store.gets == gets);
    CHECK(committed.entries() == entries);
    CHECK(committed.bytes() == bytes);
    CHECK(*committed.account(alice) == alice_before);
    CHECK(committed.account(nobody) == nullptr);
    CHECK(committed.account(bob)->collateral_usd == 200);
}

TEST_CASE("a record cache of zero bytes keeps nothing between blocks and still reads right") {
    MemoryStore store = committed_store();
    CommittedRecords committed(store, 0);
    for (int round = 0; round < 3; ++round) {
        BlockLayer block(committed);
        AccountRecord a = *block.account(id("bob"));
        a.collateral_usd += 1;
        save(block, id("bob"), a);
        WriteSet writes;
        for (auto& c : block.encode_changes()) writes.emplace(c.key, c.new_value);
        REQUIRE(store.commit(writes).ok());
        committed.absorb(block);
        CHECK(committed.entries() == 0);
        CHECK(committed.bytes() == 0);
    }
    CHECK(committed.account(id("bob"))->collateral_usd == 203);
    CHECK(committed.bytes() > 0);  // read again, charged again
}

namespace {

// Commits a block's changes to the store and the accumulator (not yet absorbed: the changes'
// seed pointers point into the block until then).
void commit_changes(MemoryStore& store, StateCommitment& commitment, std::vector<EntryChange>& changes) {
    WriteSet writes;
    for (const auto& c : changes) writes.emplace(c.key, c.new_value);
    REQUIRE(store.commit(writes).ok());
    commitment.apply(changes);
}

// The same, then absorbs the block.
void commit_block(MemoryStore& store, StateCommitment& commitment, CommittedRecords& committed, BlockLayer& block,
                  std::vector<EntryChange>& changes) {
    commit_changes(store, commitment, changes);
    committed.absorb(block);
}

// Alice's collateral set to `collateral_usd`, and `nonce` spent from her window.
void change_alice(BlockLayer& block, int64_t collateral_usd, uint64_t nonce) {
    block.account_to_change(id("alice"))->collateral_usd = collateral_usd;
    NonceWindow w = load_nonces(block, id("alice"));
    w.use(nonce);
    save(block, id("alice"), w);
}

// A block that changes only alice's collateral, over a slot that kept her leaf seed: her one
// change comes with that seed instead of her committed value, and the root stays the one from
// scratch.
void change_alice_over_kept_seed(MemoryStore& store, StateCommitment& commitment, CommittedRecords& committed,
                                 int64_t collateral_usd) {
    BlockLayer block(committed);
    block.account_to_change(id("alice"))->collateral_usd = collateral_usd;
    auto changes = block.encode_changes();
    REQUIRE(changes.size() == 1);
    REQUIRE(changes[0].old_seed);
    CHECK(*changes[0].old_seed == leaf_seed(changes[0].key, *store.get(changes[0].key)));
    commit_block(store, commitment, committed, block, changes);
    CHECK(commitment == StateCommitment::from_scratch(store));
}

}  // namespace

TEST_CASE("a written record's leaf seed stands in for its committed value in the next block, and the root is unchanged") {
    MemoryStore store = committed_store();
    StateCommitment commitment = StateCommitment::from_scratch(store);
    CommittedRecords committed(store);
    const std::string alice_key = keys::account(id("alice"));
    {
        BlockLayer block(committed);
        change_alice(block, 101, 2);
        auto changes = block.encode_changes();
        REQUIRE(changes.size() == 2);
        for (const auto& c : changes) {
            CHECK_FALSE(c.old_seed);  // a slot loaded from the store knows no seed
            CHECK(c.old_value == store.get(c.key));
            REQUIRE(c.new_seed_out != nullptr);
        }
        commit_changes(store, commitment, changes);
        for (const auto& c : changes) {
            REQUIRE(c.new_seed_out->has_value());  // the root handed the seed back
            CHECK(**c.new_seed_out == leaf_seed(c.key, *c.new_value));
        }
        committed.absorb(block);
        CHECK(commitment == StateCommitment::from_scratch(store));
    }
    {
        BlockLayer block(committed);
        change_alice(block, 102, 3);
        auto changes = block.encode_changes();
        REQUIRE(changes.size() == 2);
        for (const auto& c : changes) {
            CHECK_FALSE(c.old_value);  // not encoded again: the slot kept the seed
            REQUIRE(c.old_seed);
            CHECK(*c.old_seed == leaf_seed(c.key, *store.get(c.key)));
        }
        // Changed after encoding: encoded again. Then taken again after the root, as a late
        // writer would: the seed the root handed back may be stale, and absorb must not keep it.
        const auto stale = block.encode_changes();
        block.account_to_change(id("alice"))->collateral_usd = 103;
        auto fresh = block.encode_changes();
        CHECK(fresh.front().new_value != stale.front().new_value);
        commit_changes(store, commitment, fresh);
        REQUIRE(fresh.front().new_seed_out->has_value());
        block.account_to_change(id("alice"));
        CHECK_FALSE(fresh.front().new_seed_out->has_value());
        committed.absorb(block);
        CHECK(commitment == StateCommitment::from_scratch(store));
        CHECK(committed.account(id("alice"))->collateral_usd == 103);
    }
    {
        BlockLayer block(committed);
        block.account_to_change(id("alice"))->collateral_usd = 104;
        auto changes = block.encode_changes();
        REQUIRE(changes.size() == 1);
        CHECK(changes[0].key == alice_key);
        CHECK_FALSE(changes[0].old_seed);  // dropped by the late account_to_change
        CHECK(changes[0].old_value == store.get(alice_key));
        commit_block(store, commitment, committed, block, changes);
        CHECK(commitment == StateCommitment::from_scratch(store));
    }
    {
        BlockLayer block(committed);
        AccountRecord same = *block.account(id("alice"));
        save(block, id("alice"), same);  // written, unchanged: left out, the slot's seed kept
        auto changes = block.encode_changes();
        CHECK(changes.empty());
        commit_block(store, commitment, committed, block, changes);
    }
    change_alice_over_kept_seed(store, commitment, committed, 105);
}

TEST_CASE("a block that removes its committed leaves early reaches the same root, an account written back unchanged included") {
    MemoryStore store = committed_store();
    StateCommitment commitment = StateCommitment::from_scratch(store);
    CommittedRecords committed(store);
    {
        // Both accounts written once, so that their slots keep leaf seeds.
        BlockLayer block(committed);
        change_alice(block, 101, 2);
        block.account_to_change(id("bob"))->collateral_usd = 201;
        auto changes = block.encode_changes();
        commit_block(store, commitment, committed, block, changes);
        REQUIRE(commitment == StateCommitment::from_scratch(store));
    }
    const std::string alice_key = keys::account(id("alice"));
    const std::string bob_key = keys::account(id("bob"));
    const auto bob_before = store.get(bob_key);
    WorkerPool helpers(1);
    EarlyLeafRemovals early(helpers);
    BlockLayer block(committed, 0, &early);
    block.account_to_change(id("alice"))->collateral_usd = 102;
    block.account_to_change(id("alice"))->collateral_usd = 103;  // the second write removes nothing more
    AccountRecord bob = *block.account(id("bob"));
    save(block, id("bob"), bob);  // written back unchanged: without early removals it would be left out
    block.account_to_change(id("carol"));  // no account: nothing written, nothing removed
    auto changes = block.encode_changes(helpers);
    REQUIRE(changes.size() == 2);
    for (const auto& c : changes) {
        CHECK_FALSE(c.old_seed);  // gone already, on the removals' thread
        CHECK_FALSE(c.old_value);
        REQUIRE(c.new_seed_out != nullptr);
    }
    const auto bob_change = std::find_if(changes.begin(), changes.end(), [&](const EntryChange& c) { return c.key == bob_key; });
    REQUIRE(bob_change != changes.end());
    CHECK(bob_change->new_value == bob_before);  // the same bytes, written again
    CHECK(std::any_of(changes.begin(), changes.end(), [&](const EntryChange& c) { return c.key == alice_key; }));
    commit_changes(store, commitment, changes);
    commitment.merge(early.finish());
    committed.absorb(block);
    CHECK(commitment == StateCommitment::from_scratch(store));
    CHECK(committed.account(id("alice"))->collateral_usd == 103);
    // The seeds absorb kept stand in for the values in the next block, as without early removals.
    change_alice_over_kept_seed(store, commitment, committed, 104);
}

TEST_CASE("an account id's hash is the same whatever ids its thread hashed before, and on any thread") {
    const auto id_of = [](int i) { return blake2b_256(as_bytes("hash/" + std::to_string(i))); };
    // Reference values, each hashed right after a run of other ids, so none is remembered.
    constexpr int count = 64;
    std::vector<uint64_t> first(count);
    for (int i = 0; i < count; ++i) first[static_cast<size_t>(i)] = account_id_hash(id_of(i));
    // Remembered (the same id again, or among the last few), forgotten and hashed anew, or
    // hashed on another thread: one value. The all-zero id is an id like any other.
    for (int i = 0; i < count; ++i) {
        CHECK(account_id_hash(id_of(i)) == first[static_cast<size_t>(i)]);
        if (i >= 3) CHECK(account_id_hash(id_of(i - 3)) == first[static_cast<size_t>(i - 3)]);
    }
    const AccountId zero{};
    const uint64_t zero_hash = account_id_hash(zero);  // this thread remembers ids already
    for (int i = 0; i < 8; ++i) (void)account_id_hash(id_of(i));
    CHECK(account_id_hash(zero) == zero_hash);
    // A fresh thread remembers nothing yet: its first id, the all-zero one, is hashed too.
    uint64_t zero_on_other = 0;
    std::vector<uint64_t> on_other(count);
    std::thread other([&] {
        zero_on_other = account_id_hash(zero);
        for (int i = count - 1; i >= 0; --i) on_other[static_cast<size_t>(i)] = account_id_hash(id_of(i));
    });
    other.join();
    CHECK(zero_on_other == zero_hash);
    CHECK(on_other == first);
    // Distinct ids, distinct keyed 64-bit hashes (64 of them: a collision would be a bug).
    std::set<uint64_t> distinct(first.begin(), first.end());
    CHECK(distinct.size() == first.size());
}

TEST_CASE("the committed account table finds every id it holds and no other, keeps entries in place, and erases by rule") {
    AccountSlots<int> table;
    const auto id_of = [](int i) { return blake2b_256(as_bytes("id/" + std::to_string(i))); };
    CHECK(table.find(id_of(0)) == nullptr);  // empty: no cells yet
    table.prefetch_cell(account_id_hash(id_of(0)));
    CHECK(table.entry_hint(account_id_hash(id_of(0))) == nullptr);

    // Enough ids to grow the cells ten times; each entry is where emplace put it ever after.
    constexpr int count = 10'000;
    std::vector<AccountSlots<int>::Entry*> entries;
    for (int i = 0; i < count; ++i) {
        auto& entry = table.emplace(id_of(i));
        entry.second = i;
        entries.push_back(&entry);
    }
    CHECK(table.size() == count);
    for (int i = 0; i < count; ++i) {
        REQUIRE(table.find(id_of(i)) == entries[static_cast<size_t>(i)]);
        CHECK(entries[static_cast<size_t>(i)]->second == i);
        CHECK(entries[static_cast<size_t>(i)]->first == id_of(i));
    }
    for (int i = count; i < 2 * count; ++i) CHECK(table.find(id_of(i)) == nullptr);
    // The prefetch hint, read by hash alone, names the entry find() finds, and none for an
    // absent id (keyed 64-bit hashes of 20,000 ids: no two alike).
    for (int i = 0; i < 2 * count; ++i) {
        table.prefetch_cell(account_id_hash(id_of(i)));
        REQUIRE(table.entry_hint(account_id_hash(id_of(i))) == table.find(id_of(i)));
    }

    size_t visited = 0;
    int64_t sum = 0;
    table.for_each_unordered([&](const auto& entry) {  // order-free: counted and summed
        ++visited;
        sum += entry.second;
    });
    CHECK(visited == count);
    CHECK(sum == int64_t{count} * (count - 1) / 2);

    // Erase the odd values: the even stay, at their addresses, and the odd are gone.
    table.erase_if([](const auto& entry) { return entry.second % 2 == 1; });
    CHECK(table.size() == count / 2);
    for (int i = 0; i < count; ++i) {
        if (i % 2 == 0) CHECK(table.find(id_of(i)) == entries[static_cast<size_t>(i)]);
        else CHECK(table.find(id_of(i)) == nullptr);
    }
    // The erased can come back, as new entries.
    table.emplace(id_of(1)).second = -1;
    REQUIRE(table.find(id_of(1)) != nullptr);
    CHECK(table.find(id_of(1))->second == -1);

    table.clear();
    CHECK(table.size() == 0);
    CHECK(table.find(id_of(0)) == nullptr);
    table.emplace(id_of(0)).second = 5;  // usable after clear
    CHECK(table.find(id_of(0))->second == 5);
}

TEST_CASE("an account table reserved for n entries takes them without growing, and keeps what it held in place") {
    AccountSlots<int> table;
    const auto id_of = [](int i) { return blake2b_256(as_bytes("reserve/" + std::to_string(i))); };
    CHECK(table.capacity() == 0);
    auto& first = table.emplace(id_of(0));
    first.second = 7;
    constexpr size_t count = 20'000;  // a block of 10,000 transactions reserves twice that
    table.reserve(count);
    const size_t reserved = table.capacity();
    CHECK(reserved >= count);
    CHECK(reserved < 2 * count);  // the least power of two of cells that holds them
    CHECK(table.find(id_of(0)) == &first);
    for (int i = 1; i < static_cast<int>(reserved); ++i) table.emplace(id_of(i)).second = i;
    CHECK(table.size() == reserved);
    CHECK(table.capacity() == reserved);
    table.reserve(count / 2);  // less than it holds: nothing changes
    CHECK(table.capacity() == reserved);
    // The mutable walk changes values in place.
    table.for_each_unordered([](auto& entry) { entry.second += 1; });  // order-free: each entry on its own
    CHECK(table.find(id_of(0))->second == 8);
    CHECK(table.find(id_of(19'999))->second == 20'000);
    table.emplace(id_of(static_cast<int>(reserved)));  // one past: it grows, and still finds all
    CHECK(table.capacity() > reserved);
    CHECK(table.find(id_of(0)) == &first);
    for (int i = 1; i <= static_cast<int>(reserved); ++i) REQUIRE(table.find(id_of(i)) != nullptr);
}

namespace {
// Four hash values for every id: most lookups meet cells of the same hash and other ids.
uint64_t colliding_hash(const AccountId& id) { return id[0] % 4; }
}  // namespace

TEST_CASE("the committed account table tells ids apart when their hashes collide") {
    AccountSlots<int, colliding_hash> table;
    const auto id_of = [](int i) { return blake2b_256(as_bytes("collide/" + std::to_string(i))); };
    constexpr int count = 300;
    for (int i = 0; i < count; ++i) table.emplace(id_of(i)).second = i;
    for (int i = 0; i < count; ++i) {
        REQUIRE(table.find(id_of(i)) != nullptr);
        CHECK(table.find(id_of(i))->second == i);
    }
    for (int i = count; i < 2 * count; ++i) CHECK(table.find(id_of(i)) == nullptr);
    // Where ids share a hash, the hint is the first entry of that hash: a hint, not an answer.
    for (int i = 0; i < 2 * count; ++i) {
        const auto* hint = table.entry_hint(colliding_hash(id_of(i)));
        REQUIRE(hint != nullptr);
        CHECK(colliding_hash(hint->first) == colliding_hash(id_of(i)));
    }
    // Erasing from the middle of long runs of one hash leaves the rest reachable.
    table.erase_if([](const auto& entry) { return entry.second % 3 == 0; });
    for (int i = 0; i < count; ++i) {
        if (i % 3 == 0) CHECK(table.find(id_of(i)) == nullptr);
        else CHECK(table.find(id_of(i))->second == i);
    }
}
