// The node's storage contract: a block, its log entry and its bookkeeping commit together or
// not at all; a home whose state fails its checks is refused; a second writer is locked out.
#include "node/blocklog.hpp"
#include "node/files.hpp"
#include "node/home.hpp"
#include "node/open.hpp"
#include "node/output.hpp"
#include "node/status.hpp"
#include "ledger/json.hpp"
#include "state/records.hpp"
#include "testkit.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace clearnode;
using namespace clearnode::test;
namespace fs = std::filesystem;

namespace {

struct TempHome {
    TempHome() {
        std::string pattern = (fs::temp_directory_path() / "clearnode-node-test-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()));
        path = pattern;
    }
    ~TempHome() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string path;
};

// A home at height `blocks` (a deposit each), written the way `clearnode run` writes it.
void make_home(const std::string& home, uint64_t blocks = 1) {
    std::string error;
    auto store = cli::create_store(home, error);  // as `init` does
    REQUIRE_MESSAGE(store, error);
    auto engine = Engine::genesis(*store, demo_genesis(), error);
    REQUIRE_MESSAGE(engine, error);
    std::ofstream(cli::genesis_copy_path(home)) << genesis_to_json(demo_genesis()).dump() << "\n";
    Chain c;
    for (uint64_t h = 1; h <= blocks; ++h) {
        Block block{{h, c.time_ms + static_cast<int64_t>(h) * 1000}, {c.deposit("alice", "100")}};
        const auto checks = engine->check_signatures(block.txs, 1);
        const auto result = engine->apply_block_checked(block, checks, error, [&](const BlockResult& r) { return cli::block_log_writes(block, r, "receipts\n"); });
        REQUIRE_MESSAGE(result, error);
    }
}

void overwrite(const std::string& home, const std::string& key, std::optional<std::string> value) {
    std::string error;
    auto store = RocksStore::open(cli::state_dir(home), RocksOptions{}, error);
    REQUIRE_MESSAGE(store, error);
    REQUIRE(store->commit(WriteSet{{key, std::move(value)}}).ok());
}

std::optional<std::string> read_entry(const std::string& home, const std::string& key) {
    std::string error;
    auto store = RocksStore::open(cli::state_dir(home), RocksOptions{}, error);
    REQUIRE_MESSAGE(store, error);
    return store->get(key);
}

}  // namespace

TEST_CASE("a whole block round-trips through its encoding, and any truncation is refused") {
    Chain c;
    Block block{{7, 1234}, {c.deposit("alice", "1"), c.transfer("alice", "bob", "0.5"), c.withdraw("bob", "0.1")}};
    const std::string bytes = encode_block(block);
    const auto decoded = decode_block(bytes);
    REQUIRE(decoded);
    CHECK(decoded->header.height == 7);
    CHECK(decoded->header.time_ms == 1234);
    CHECK(encode_block(*decoded) == bytes);
    for (size_t n = 0; n < bytes.size(); ++n) CHECK_FALSE(decode_block(std::string_view(bytes).substr(0, n)));
    CHECK_FALSE(decode_block(bytes + "x"));
}

TEST_CASE("the log's receipts give back the JSON Lines byte for byte; a value written before reads as it is") {
    Chain c;
    std::string error;
    Rng rng(11);
    Scenario scenario(rng, c.genesis);
    const std::string admission = "{\"admission\":true,\"file\":\"caf\u00e9.jsonl\"}\n";
    for (size_t b = 0; b < 30; ++b) {
        const auto result = c.engine->apply_block(scenario.next_block(c.store), 1, error);
        REQUIRE_MESSAGE(result, error);
        const uint64_t height = result->header.height;
        const std::string extra = b % 2 == 0 ? admission : std::string();
        const std::string value = cli::encode_logged_receipts(*result, extra);
        CHECK(value[0] == cli::receipts_format_binary);
        CHECK(cli::logged_receipt_text(value, height) == cli::receipt_lines(*result) + extra);
    }

    // Every kind of value at its edges, and text that JSON escapes.
    BlockResult edges;
    edges.header.height = UINT64_MAX;
    Receipt& r = edges.receipts.emplace_back();
    r.index = UINT32_MAX;
    r.tx_hash.fill(0xab);
    r.status = reason_last;
    r.events.push_back(Event{"odd \"kind\""}
                           .with("control", std::string("tab\there, nul ") + '\0')
                           .with("utf8", "caf\xC3\xA9")
                           .with("min", EventValue::Units{INT64_MIN, 18})
                           .with("max", EventValue::Units{INT64_MAX, 0})
                           .with("small", EventValue::usd(-1))
                           .with("id", id("alice")));
    r.events.push_back(Event{"empty", 0});
    edges.receipts.emplace_back().index = 1;
    const std::string value = cli::encode_logged_receipts(edges, "");
    CHECK(cli::logged_receipt_text(value, UINT64_MAX) == cli::receipt_lines(edges));

    // A home written before 2026-12-03 keeps JSON Lines, shown as they are.
    CHECK(cli::logged_receipt_text("{\"height\":1}\n", 1) == "{\"height\":1}\n");
    CHECK(cli::logged_receipt_text("", 1).empty());

    // A damaged value is a corrupt store: every truncation, a status past the last reason.
    for (size_t n = 1; n < value.size(); ++n) CHECK_THROWS_AS(cli::logged_receipt_text(value.substr(0, n), 1), StorageError);
    CHECK_THROWS_AS(cli::logged_receipt_text(value + "x", 1), StorageError);
    std::string bad_status = value;
    const size_t status_at = 1 + 1 + 5 + 32;  // format, receipt count, index (5 bytes for 2^32 - 1), hash
    REQUIRE(static_cast<Reason>(bad_status[status_at]) == reason_last);
    bad_status[status_at] = static_cast<char>(static_cast<uint8_t>(reason_last) + 1);
    CHECK_THROWS_AS(cli::logged_receipt_text(bad_status, 1), StorageError);
    // Any byte changed: text or a corrupt store, never another failure (an exception of any
    // other type fails the test case; a flipped byte of "café" is text that is not UTF-8).
    for (size_t i = 1; i < value.size(); ++i) {
        std::string changed = value;
        changed[i] = static_cast<char>(changed[i] ^ 0x80);
        try {
            (void)cli::logged_receipt_text(changed, 1);
        } catch (const StorageError&) {
        }
    }
}

TEST_CASE("bookkeeping writes commit with the block, and a state key among them commits nothing") {
    Chain c;
    const Tx tx = c.deposit("alice", "10");
    const Hash32 root_before = c.engine->state_root();
    std::string error;
    Block block{{1, c.time_ms + 1000}, {tx}};
    const auto checks = c.engine->check_signatures(block.txs, 1);

    const auto refused = c.engine->apply_block_checked(block, checks, error, [](const BlockResult&) {
        return WriteSet{{"~ok", std::string("x")}, {"account/sneaky", std::string("y")}};
    });
    CHECK_FALSE(refused);
    CHECK(error.find("state key") != std::string::npos);
    CHECK(c.engine->height() == 0);
    CHECK(c.engine->state_root() == root_before);
    CHECK_FALSE(c.store.get("~ok"));
    CHECK_FALSE(c.store.get(keys::account(id("alice"))));

    error.clear();
    const auto result = c.engine->apply_block_checked(block, checks, error, [&](const BlockResult& r) { return cli::block_log_writes(block, r, "lines\n"); });
    REQUIRE_MESSAGE(result, error);
    CHECK(c.engine->height() == 1);
    // The root is the same as without bookkeeping: '~' entries are outside it.
    CHECK(result->state_root == StateCommitment::from_scratch(c.store).root());
    const auto logged = cli::load_logged_block(c.store, 1);
    REQUIRE(logged);
    CHECK(encode_block(*logged) == encode_block(block));
    const auto meta = cli::load_meta(c.store, 1);
    REQUIRE(meta);
    CHECK(meta->state_root == result->state_root);
    CHECK(meta->block_hash == result->block_hash);
    CHECK(cli::check_log_head(c.store, *c.engine).empty());
}

TEST_CASE("the transaction index holds the committed transactions that spent no nonce, and only those") {
    // The transfer from an id without an account is refused before the rules and spends no
    // nonce: it could pass later, so the index holds it. The deposit spent its nonce, which
    // refuses it for good if it comes again: not indexed.
    Chain c;
    const Tx deposit = c.deposit("alice", "10");
    const Tx stranger = c.transfer("zed", "alice", "1");
    Block block{{1, c.time_ms + 1000}, {deposit, stranger}};
    const auto checks = c.engine->check_signatures(block.txs, 1);
    std::string error;
    const auto result = c.engine->apply_block_checked(block, checks, error,
                                                      [&](const BlockResult& r) { return cli::block_log_writes(block, r, ""); });
    REQUIRE_MESSAGE(result, error);
    REQUIRE(result->receipts.size() == 2);
    CHECK(result->receipts[0].status == Reason::ok);
    CHECK(result->receipts[1].status == Reason::unknown_account);
    CHECK_FALSE(cli::find_tx(c.store, tx_hash(deposit)));
    const auto at = cli::find_tx(c.store, tx_hash(stranger));
    REQUIRE(at);
    CHECK(at->height == 1);
    CHECK(at->index == 1);
}

TEST_CASE("precheck runs the engine's checks before the rules and changes nothing") {
    Chain c;
    c.apply(c.deposit("alice", "10"));
    const auto before = snapshot(c.store);
    const Tx ok = c.transfer("alice", "bob", "1");
    const SignatureCheck good{true, true};
    CHECK(c.engine->precheck(CommittedRecords(c.store), ok, good) == Reason::ok);
    CHECK(c.engine->precheck(CommittedRecords(c.store), ok, SignatureCheck{false, true}) == Reason::bad_signature);
    CHECK(c.engine->precheck(CommittedRecords(c.store), c.transfer("bob", "alice", "1"), good) == Reason::unknown_account);
    Tx forged = c.make("alice", Deposit{id("alice"), {"5"}});
    CHECK(c.engine->precheck(CommittedRecords(c.store), forged, good) == Reason::not_authorized);
    CHECK(snapshot(c.store) == before);
    CHECK(status(c.apply(ok)) == "ok");
    CHECK(c.engine->precheck(CommittedRecords(c.store), ok, good) == Reason::nonce_used);
}

TEST_CASE("a home whose state fails its checks is refused with the reason") {
    TempHome home;
    make_home(home.path);
    std::string error;
    {
        auto node = cli::open_for_writing(home.path, {}, error);
        REQUIRE_MESSAGE(node, error);
        CHECK(node->engine->height() == 1);
        CHECK(node->store->family_prefixes() == cli::logkeys::family_prefixes());  // the log apart from the state

        SUBCASE("a second writer on the same home is locked out") {
            std::string second_error;
            CHECK_FALSE(cli::open_for_writing(home.path, {}, second_error));
            CHECK(second_error.find("in use by another clearnode process") != std::string::npos);
        }
    }

    SUBCASE("an entry changed behind the root's back, with --verify-state") {
        overwrite(home.path, keys::account(id("alice")), std::string("\x01garbage"));
        cli::StartOptions verify;
        verify.verify_state = true;
        CHECK_FALSE(cli::open_for_writing(home.path, verify, error));
        CHECK(error.find("does not match its state root") != std::string::npos);
        // Without it, start costs O(1) in the state's size: the stored accumulator is trusted.
        CHECK(cli::open_for_writing(home.path, {}, error));
    }
    SUBCASE("a missing record") {
        overwrite(home.path, keys::protocol(), std::nullopt);
        CHECK_FALSE(cli::open_for_writing(home.path, {}, error));
        CHECK(error.find("refusing to start") != std::string::npos);
    }
    SUBCASE("a state of another state root version: refused, and its blocks still readable") {
        TempHome out;
        const auto entry = read_entry(home.path, std::string(commitment_key));
        REQUIRE(entry);
        overwrite(home.path, std::string(commitment_key), entry->substr(1));  // version 2's entry: the lanes alone
        CHECK_FALSE(cli::open_for_writing(home.path, {}, error));
        CHECK(error.find("version 2 or earlier") != std::string::npos);
        std::ostringstream blocks_out, blocks_err;
        CHECK(cli::cmd_dump_blocks(home.path, out.path + "/blocks", blocks_out, blocks_err) == cli::exit_ok);
        CHECK(std::filesystem::exists(out.path + "/blocks/000000000001.jsonl"));
    }
    SUBCASE("a block log that lost its head") {
        overwrite(home.path, cli::logkeys::meta(1), std::nullopt);
        CHECK_FALSE(cli::open_for_writing(home.path, {}, error));
        CHECK(error.find("no root for the state's height 1") != std::string::npos);
    }
}

TEST_CASE("replay --verify reproduces every published root, and names the first height that differs") {
    TempHome home;
    make_home(home.path, 4);
    const cli::LogReplayOptions options{home.path, true, 1, false};
    std::ostringstream out, err;
    CHECK(cli::cmd_replay_log(options, out, err) == cli::exit_ok);
    CHECK(out.str().find("\"verified_to\":4") != std::string::npos);
    CHECK(out.str().find("\"invariants\":\"ok\"") != std::string::npos);

    // The roots published for heights 3 and 4 are not what their blocks produce.
    for (uint64_t h : {3, 4}) {
        Writer meta;
        meta.fixed(Hash32{});
        meta.fixed(Hash32{});
        overwrite(home.path, cli::logkeys::meta(h), meta.take());
    }
    std::ostringstream out2, err2;
    CHECK(cli::cmd_replay_log(options, out2, err2) == cli::exit_internal);
    CHECK(out2.str().find("\"first_difference\":3") != std::string::npos);

    // A block missing from the log is a difference too.
    overwrite(home.path, cli::logkeys::block(2), std::nullopt);
    std::ostringstream out3, err3;
    CHECK(cli::cmd_replay_log(options, out3, err3) == cli::exit_internal);
    CHECK(out3.str().find("\"first_difference\":2") != std::string::npos);
}

TEST_CASE("the demo genesis in fixtures/ holds the reference markets that tests and bench use") {
    const auto genesis = cli::load_genesis(std::string(CLEARNODE_FIXTURES_DIR) + "/demo/genesis.json");
    REQUIRE_MESSAGE(genesis.ok(), genesis.error);
    CHECK(genesis.value->markets == reference_markets());
}
