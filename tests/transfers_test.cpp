// deposit, withdraw, transfer: the success paths, every rejection, and I1-I3/I5 after each
// (Chain::apply checks those).
#include "testkit.hpp"

#include <filesystem>
#include <unistd.h>

using namespace clearnode;
using namespace clearnode::test;

TEST_CASE("deposit credits collateral and creates the account") {
    Chain c;
    CHECK_FALSE(c.account("alice"));
    const Receipt r = c.apply(c.deposit("alice", "1000.25"));
    CHECK(status(r) == "ok");
    CHECK(c.collateral("alice") == 1'000'250'000);
    CHECK(c.protocol().deposits_total_usd == usd(1'000'000) + 1'000'250'000);
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].kind == "deposit");
    // Fields keep the id and the amount as numbers; their text is what receipts show.
    REQUIRE(r.events[0].fields.size() == 2);
    CHECK(r.events[0].fields[0].second == EventValue(id("alice")));
    CHECK(r.events[0].fields[0].second.text() == to_hex(id("alice")));
    CHECK(r.events[0].fields[1].second == EventValue::usd(1'000'250'000));
    CHECK(r.events[0].fields[1].second.text() == "1000.25");
}

TEST_CASE("an event value's text: lowercase hex for ids, decimals without trailing zeros for amounts") {
    PublicKey key{};
    key[0] = 0xAB;
    key[31] = 0x01;
    CHECK(EventValue(key).text() == "ab" + std::string(60, '0') + "01");
    CHECK(EventValue(EventValue::Units{-1'500'000, 6}).text() == "-1.5");
    CHECK(EventValue(EventValue::Units{7, 0}).text() == "7");
    CHECK(EventValue(EventValue::Units{INT64_MIN, 6}).text() == "-9223372036854.775808");
    CHECK(EventValue("cross").text() == "cross");
    // Equality is by kind and value: an id is not its hex text.
    CHECK_FALSE(EventValue(key) == EventValue(to_hex(key)));
}

TEST_CASE("deposit rejections") {
    Chain c;
    SUBCASE("not signed by the bridge") { CHECK(status(c.apply(c.make("alice", Deposit{id("alice"), {"5"}}))) == "not_authorized"); }
    SUBCASE("zero and negative amounts") {
        CHECK(status(c.apply(c.deposit("alice", "0"))) == "bad_amount");
        CHECK(status(c.apply(c.deposit("alice", "-1"))) == "bad_amount");
    }
    SUBCASE("too many decimals") { CHECK(status(c.apply(c.deposit("alice", "1.0000001"))) == "bad_amount"); }
    SUBCASE("beyond int64") { CHECK(status(c.apply(c.deposit("alice", "9223372036855"))) == "overflow"); }
    SUBCASE("a balance that would overflow") {
        CHECK(status(c.apply(c.deposit("alice", "9000000000000"))) == "ok");
        CHECK(status(c.apply(c.deposit("alice", "9000000000000"))) == "overflow");
        CHECK(c.collateral("alice") == usd(9'000'000'000'000));
    }
    SUBCASE("a tampered signature") {
        Tx tx = c.deposit("alice", "5");
        tx.sig[10] ^= 1;
        CHECK(status(c.apply(tx)) == "bad_signature");
    }
    SUBCASE("a field changed after signing") {
        Tx tx = c.deposit("alice", "5");
        std::get<Deposit>(tx.body).amount.text = "500";
        CHECK(status(c.apply(tx)) == "bad_signature");
    }
    SUBCASE("signed for another chain id") {
        const Tx tx = c.resign(c.deposit("alice", "5"), "bridge", "clearnode-other");
        CHECK(status(c.apply(tx)) == "bad_signature");
    }
    SUBCASE("replayed") {
        const Tx tx = c.deposit("alice", "5");
        CHECK(status(c.apply(tx)) == "ok");
        CHECK(status(c.apply(tx)) == "nonce_used");
        CHECK(c.collateral("alice") == usd(5));
    }
    CHECK(check_invariants(c.state()).empty());
}

TEST_CASE("withdraw debits collateral up to what an account without positions holds") {
    Chain c;
    c.apply(c.deposit("alice", "100"));
    CHECK(status(c.apply(c.withdraw("alice", "40.5"))) == "ok");
    CHECK(c.collateral("alice") == 59'500'000);
    CHECK(c.protocol().withdrawals_total_usd == 40'500'000);
    CHECK(status(c.apply(c.withdraw("alice", "59.500001"))) == "insufficient_collateral");
    CHECK(status(c.apply(c.withdraw("alice", "59.5"))) == "ok");
    CHECK(c.collateral("alice") == 0);
}

TEST_CASE("withdraw rejections") {
    Chain c;
    c.apply(c.deposit("alice", "100"));
    CHECK(status(c.apply(c.withdraw("bob", "1"))) == "unknown_account");
    CHECK(status(c.apply(c.withdraw("alice", "0"))) == "bad_amount");
    CHECK(status(c.apply(c.withdraw("alice", "-3"))) == "bad_amount");
    CHECK(status(c.apply(c.withdraw("alice", "0.0000001"))) == "bad_amount");
    CHECK(status(c.apply(c.withdraw("alice", "99999999999999999"))) == "overflow");
    CHECK(status(c.apply(c.withdraw("alice", "100.000001"))) == "insufficient_collateral");
    Tx tampered = c.withdraw("alice", "1");
    tampered.sig[0] ^= 0x80;
    CHECK(status(c.apply(tampered)) == "bad_signature");
    const Tx once = c.withdraw("alice", "1");
    CHECK(status(c.apply(once)) == "ok");
    CHECK(status(c.apply(once)) == "nonce_used");
    CHECK(c.collateral("alice") == usd(99));
}

TEST_CASE("transfer moves collateral and creates the recipient") {
    Chain c;
    c.apply(c.deposit("alice", "100"));
    CHECK(status(c.apply(c.transfer("alice", "bob", "30"))) == "ok");
    CHECK(c.collateral("alice") == usd(70));
    CHECK(c.collateral("bob") == usd(30));
    CHECK(status(c.apply(c.transfer("bob", "alice", "30"))) == "ok");
    CHECK(c.collateral("bob") == 0);
    CHECK(c.account("bob"));  // an account that received collateral stays known
    CHECK(status(c.apply(c.transfer("bob", "alice", "0.000001"))) == "insufficient_collateral");
}

TEST_CASE("transfer rejections") {
    Chain c;
    c.apply(c.deposit("alice", "100"));
    CHECK(status(c.apply(c.transfer("carol", "alice", "1"))) == "unknown_account");
    CHECK(status(c.apply(c.transfer("alice", "bob", "0"))) == "bad_amount");
    CHECK(status(c.apply(c.transfer("alice", "bob", "-1"))) == "bad_amount");
    CHECK(status(c.apply(c.transfer("alice", "bob", "1.1234567"))) == "bad_amount");
    CHECK(status(c.apply(c.transfer("alice", "bob", "10000000000000"))) == "overflow");
    CHECK(status(c.apply(c.transfer("alice", "bob", "100.01"))) == "insufficient_collateral");
    CHECK_FALSE(c.account("bob"));
}

TEST_CASE("the nonce window: out of order within 100, and never below the window once full") {
    Chain c;
    c.apply(c.deposit("alice", "1000"));
    auto withdraw_with_nonce = [&](uint64_t nonce) {
        Tx tx = c.withdraw("alice", "1");
        tx.nonce = nonce;
        return status(c.apply(c.resign(tx, "alice")));
    };
    CHECK(withdraw_with_nonce(500) == "ok");
    CHECK(withdraw_with_nonce(3) == "ok");  // lower but not used: accepted while the window has room
    CHECK(withdraw_with_nonce(3) == "nonce_used");
    for (uint64_t n = 1000; n < 1098; ++n) CHECK(withdraw_with_nonce(n) == "ok");
    CHECK(withdraw_with_nonce(2) == "nonce_used");  // the window is full and 2 is below its smallest
    CHECK(withdraw_with_nonce(4) == "ok");          // above the smallest (3): replaces it
    CHECK(withdraw_with_nonce(3) == "nonce_used");
}

TEST_CASE("a rule rejection spends the nonce, so the intent can never be replayed later") {
    Chain c;
    c.apply(c.deposit("alice", "10"));
    const Tx early = c.withdraw("alice", "50");
    CHECK(status(c.apply(early)) == "insufficient_collateral");
    c.apply(c.deposit("alice", "100"));
    CHECK(status(c.apply(early)) == "nonce_used");
    CHECK(c.collateral("alice") == usd(110));
}

TEST_CASE("I5's check: a rejection spends the nonce in the signer's window and changes nothing else") {
    Chain c;
    c.apply(c.deposit("alice", "10"));
    const StateSnapshot before = snapshot(c.state());
    const Tx tx = c.withdraw("alice", "50");
    CHECK(status(c.apply(tx)) == "insufficient_collateral");
    const StateSnapshot after = snapshot(c.state());
    CHECK(check_rejection(before, after, tx, Reason::insufficient_collateral).empty());
    CHECK_FALSE(check_rejection(before, before, tx, Reason::insufficient_collateral).empty());  // not spent
    CHECK(check_rejection(before, before, tx, Reason::nonce_used).empty());
    CHECK_FALSE(check_rejection(before, after, tx, Reason::nonce_used).empty());  // spent, but must not be
    StateSnapshot richer = after;
    AccountRecord alice = decode_account(richer[keys::account(id("alice"))]);
    alice.collateral_usd += 1;
    richer[keys::account(id("alice"))] = encode(alice);
    CHECK_FALSE(check_rejection(before, richer, tx, Reason::insufficient_collateral).empty());

    // The bridge's window is an entry of its own.
    const StateSnapshot before_deposit = snapshot(c.state());
    const Tx deposit = c.deposit("alice", "0");
    CHECK(status(c.apply(deposit)) == "bad_amount");
    CHECK(check_rejection(before_deposit, snapshot(c.state()), deposit, Reason::bad_amount).empty());
    CHECK_FALSE(check_rejection(before_deposit, before_deposit, deposit, Reason::bad_amount).empty());
}

TEST_CASE("an account's nonce window is in its record, the bridge's and the oracle's are entries of their own") {
    Chain c;
    const Tx first_deposit = c.deposit("alice", "100");
    CHECK(status(c.apply(first_deposit)) == "ok");
    const Tx withdrawal = c.withdraw("alice", "1");
    CHECK(status(c.apply(withdrawal)) == "ok");
    CHECK(c.account("alice")->nonces.nonces == std::vector<uint64_t>{withdrawal.nonce});
    CHECK_FALSE(c.state().get(keys::nonces(id("alice"))));
    CHECK(decode_nonces(*c.state().get(keys::nonces(id("bridge")))).nonces == std::vector<uint64_t>{first_deposit.nonce});
    CHECK(status(c.apply(c.price({{"BTC", {"65000"}}}))) == "ok");
    CHECK(c.state().get(keys::nonces(id("oracle"))));

    // The bridge's id may become an account; its window stays where it was, so an old deposit
    // cannot be replayed, and the account's own window is unused.
    CHECK(status(c.apply(c.transfer("alice", "bridge", "10"))) == "ok");
    REQUIRE(c.account("bridge"));
    CHECK(c.account("bridge")->nonces.nonces.empty());
    CHECK(status(c.apply(first_deposit)) == "nonce_used");
    CHECK(status(c.apply(withdrawal)) == "nonce_used");
    const Tx from_bridge = c.transfer("bridge", "alice", "1");
    CHECK(status(c.apply(from_bridge)) == "ok");
    CHECK(c.account("bridge")->nonces.nonces.empty());
    CHECK(decode_nonces(*c.state().get(keys::nonces(id("bridge")))).nonces.back() == from_bridge.nonce);
    CHECK(c.collateral("alice") == usd(90));
}

TEST_CASE("one block: later transactions see earlier ones, and a rejection in the middle keeps the rest") {
    Chain c;
    const auto result = c.apply_block({c.deposit("alice", "10"), c.transfer("alice", "bob", "20"), c.transfer("alice", "bob", "4")});
    CHECK(status(result.receipts[0]) == "ok");
    CHECK(status(result.receipts[1]) == "insufficient_collateral");
    CHECK(status(result.receipts[2]) == "ok");
    CHECK(c.collateral("alice") == usd(6));
    CHECK(c.collateral("bob") == usd(4));
    CHECK(result.ok_count() == 2);
}

TEST_CASE("blocks must follow in height and time") {
    Chain c;
    std::string error;
    CHECK_FALSE(c.engine->apply_block(Block{{5, c.time_ms + 1}, {}}, 1, error));
    CHECK(error.find("does not follow") != std::string::npos);
    CHECK_FALSE(c.engine->apply_block(Block{{1, c.time_ms - 1}, {}}, 1, error));
    CHECK(c.engine->height() == 0);
    CHECK(c.engine->apply_block(Block{{1, c.time_ms}, {}}, 1, error));
}

TEST_CASE("memory and RocksDB backends and 1 or 2 verification threads give the same roots") {
    Chain memory_chain;
    std::vector<std::vector<Tx>> blocks = {
        {memory_chain.deposit("alice", "100"), memory_chain.deposit("bob", "5")},
        {memory_chain.transfer("alice", "bob", "7.5"), memory_chain.withdraw("bob", "100")},
        {memory_chain.withdraw("alice", "2")},
    };
    const auto dir = std::filesystem::temp_directory_path() / ("clearnode-backends-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::string error;
    RocksOptions options;
    options.create_if_missing = true;
    auto rocks = RocksStore::open(dir.string(), options, error);
    REQUIRE(rocks);
    auto rocks_engine = Engine::genesis(*rocks, memory_chain.genesis, error);
    REQUIRE(rocks_engine);
    CHECK(rocks_engine->state_root() == memory_chain.engine->state_root());
    for (const auto& txs : blocks) {
        const auto in_memory = memory_chain.apply_block(txs);
        const auto on_disk = rocks_engine->apply_block(Block{in_memory.header, txs}, 2, error);
        REQUIRE(on_disk);
        CHECK(on_disk->state_root == in_memory.state_root);
        CHECK(on_disk->block_hash == in_memory.block_hash);
    }
    rocks_engine.reset();
    rocks.reset();
    // Reopened, with a full recomputation of the root from the stored entries.
    rocks = RocksStore::open(dir.string(), options, error);
    auto reopened = Engine::open(*rocks, true, error);
    REQUIRE_MESSAGE(reopened, error);
    CHECK(reopened->state_root() == memory_chain.engine->state_root());
    CHECK(reopened->height() == 3);
    rocks.reset();
    std::filesystem::remove_all(dir);
}

TEST_CASE("a state written under another state root version is refused at open, saying which") {
    Chain c;
    c.apply(c.deposit("alice", "10"));
    std::string error;
    REQUIRE_MESSAGE(Engine::open(c.store, false, error), error);
    const std::string entry = *c.store.get(commitment_key);
    REQUIRE(entry.size() == 1 + 2 * StateCommitment::lanes);
    CHECK(static_cast<uint8_t>(entry[0]) == state_root_version);
    const auto open_with = [&](std::string stored) {
        MemoryStore store;
        WriteSet copy;
        c.store.scan("", [&](std::string_view k, std::string_view v) {
            copy.emplace(std::string(k), std::string(v));
            return true;
        });
        copy[std::string(commitment_key)] = std::move(stored);
        REQUIRE(store.commit(copy).ok());
        error.clear();
        return Engine::open(store, false, error) != nullptr;
    };
    CHECK(open_with(entry));
    CHECK_FALSE(open_with(entry.substr(1)));  // version 2's entry: the lanes alone
    CHECK(error.find("version 2 or earlier") != std::string::npos);
    std::string other = entry;
    other[0] = static_cast<char>(state_root_version + 1);
    CHECK_FALSE(open_with(other));
    CHECK(error.find("version " + std::to_string(state_root_version + 1)) != std::string::npos);
    // ... and how to carry the chain over: the old binary writes the blocks out, this one applies them.
    CHECK(error.find("binary of version " + std::to_string(state_root_version + 1) + " (`blocks --home`)") !=
          std::string::npos);
    CHECK_FALSE(open_with(entry + "x"));
    CHECK(error.find("corrupt commitment entry") != std::string::npos);
}
