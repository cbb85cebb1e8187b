#include "ledger/codec.hpp"
#include "ledger/json.hpp"
#include "testkit.hpp"

#include <doctest/doctest.h>

using namespace clearnode;
using namespace clearnode::test;

namespace {
std::vector<Tx> one_of_each(Chain& c) {
    return {
        c.deposit("alice", "100.5"),
        c.withdraw("alice", "1"),
        c.transfer("alice", "bob", "2.25"),
        c.set_leverage("alice", "BTC", 10, MarginMode::isolated),
        c.transfer_margin("alice", "BTC", "-5.5"),
        c.price({{"BTC", {"64000"}}, {"ETH", {"3100.5"}}}),
        c.funding({{"BTC", 125000}, {"SOL", -40000000}}),
        c.open("alice", "BTC", Side::buy, "0.5", "65000", c.order("bob", "BTC", Side::sell, "1", "64900", true)),
        c.liquidate("carol", "alice", "BTC"),
        c.adl("carol", "alice", "ETH"),
    };
}
}  // namespace

TEST_CASE("every transaction type round-trips through the binary and JSON forms") {
    Chain c;
    for (const Tx& tx : one_of_each(c)) {
        CAPTURE(tx_type_name(tx.body));
        const std::string bytes = encode_tx(tx);
        const auto decoded = decode_tx(bytes);
        REQUIRE(decoded);
        CHECK(encode_tx(*decoded) == bytes);
        const auto from_json = tx_from_json(tx_to_json(tx));
        REQUIRE_MESSAGE(from_json.ok(), from_json.error);
        CHECK(encode_tx(*from_json.value) == bytes);
        CHECK(tx_hash(*from_json.value) == tx_hash(tx));
        // Any truncation is refused, never read past.
        for (size_t n = 0; n < bytes.size(); ++n) CHECK_FALSE(decode_tx(std::string_view(bytes).substr(0, n)));
        CHECK_FALSE(decode_tx(bytes + "x"));
    }
}

TEST_CASE("the signature covers the chain id and every field") {
    Chain c;
    const Tx tx = c.transfer("alice", "bob", "1");
    CHECK(verify(tx.signer, as_bytes(tx_signing_digest(tx, c.genesis.chain_id)), tx.sig));
    CHECK_FALSE(verify(tx.signer, as_bytes(tx_signing_digest(tx, "another-chain")), tx.sig));
    Tx changed = tx;
    std::get<Transfer>(changed.body).amount.text = "1.0";
    CHECK_FALSE(verify(tx.signer, as_bytes(tx_signing_digest(changed, c.genesis.chain_id)), tx.sig));
    changed = tx;
    changed.nonce += 1;
    CHECK_FALSE(verify(tx.signer, as_bytes(tx_signing_digest(changed, c.genesis.chain_id)), tx.sig));
}

TEST_CASE("a maker order signed for one market does not verify on another") {
    Chain c;
    const MakerOrder o = c.order("bob", "BTC", Side::sell, "1", "64900");
    CHECK(verify(o.account, as_bytes(order_signing_digest(o, "BTC", c.genesis.chain_id)), o.sig));
    CHECK_FALSE(verify(o.account, as_bytes(order_signing_digest(o, "ETH", c.genesis.chain_id)), o.sig));
}

TEST_CASE("JSON carriers name the field that is wrong") {
    const std::string signer(64, 'a');
    auto error_of = [](const std::string& line) { return tx_from_json(Json::parse(line)).error; };
    CHECK(error_of(R"({"type":"withdraw","signer":")" + signer + R"(","nonce":1,"amount":1,"sig":")" + std::string(128, '0') + "\"}")
              .starts_with("amount:"));
    CHECK(error_of(R"({"type":"withdraw","signer":"xyz","nonce":1,"amount":"1","sig":""})").starts_with("signer:"));
    CHECK(error_of(R"({"type":"withdraw","signer":")" + signer + R"(","nonce":-1,"amount":"1"})").starts_with("nonce:"));
    CHECK(error_of(R"({"type":"withdraw","signer":")" + signer + R"(","nonce":1,"amount":"1"})").starts_with("sig:"));
    CHECK(error_of(R"({"type":"teleport","signer":")" + signer + R"(","nonce":1})").starts_with("type:"));
    CHECK(error_of(R"({"type":"withdraw","signer":")" + signer + R"(","nonce":1,"amount":"1e5","sig":")" + std::string(128, '0') + "\"}")
              .starts_with("amount:"));
}

TEST_CASE("block files: header line, blank lines, and the line number of an error") {
    Chain c;
    const std::string tx_line = tx_to_json(c.deposit("alice", "1")).dump();
    auto parsed = block_file_from_text("{\"block\":{\"height\":7,\"time_ms\":5}}\n\n" + tx_line + "\n" + tx_line + "\n");
    REQUIRE(parsed.ok());
    CHECK(*parsed.value->header.height == 7);
    CHECK(*parsed.value->header.time_ms == 5);
    CHECK(parsed.value->txs.size() == 2);
    auto broken = block_file_from_text(tx_line + "\n{\"type\": \n");
    CHECK_FALSE(broken.ok());
    CHECK(broken.error == "line 2: not valid JSON");
    auto missing = block_file_from_text(tx_line + "\n" + tx_line + "\n{\"type\":\"deposit\"}\n");
    CHECK(missing.error == "line 3: signer: missing");
}

TEST_CASE("genesis JSON round-trips and inconsistent genesis files are refused") {
    const Genesis g = demo_genesis();
    const auto back = genesis_from_json(genesis_to_json(g));
    REQUIRE_MESSAGE(back.ok(), back.error);
    CHECK(genesis_to_json(*back.value) == genesis_to_json(g));
    Json j = genesis_to_json(g);
    j["markets"][0]["tiers"][1]["max_leverage"] = 50;
    CHECK(genesis_from_json(j).error == "BTC: max_leverage may not rise with the tier");
    j = genesis_to_json(g);
    j["params"]["taker_fee"] = 1;
    CHECK(genesis_from_json(j).error == "params.taker_fee: unknown parameter");
    j = genesis_to_json(g);
    j["markets"][1]["size_decimals"] = 9;
    CHECK(genesis_from_json(j).error == "markets[ETH].size_decimals: must be in [0, 8]");
}

TEST_CASE("writer: integers little-endian, varints minimal, the same bytes with room reserved") {
    for (size_t reserved : {size_t{0}, size_t{3}, size_t{256}}) {
        Writer w(reserved);
        w.u8(0xab);
        w.u32(0x01020304);
        w.u64(0x1122334455667788);
        for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{16384}, UINT64_MAX}) w.varint(v);
        w.bytes("xy");
        const std::string expected = std::string("\xab", 1) + std::string("\x04\x03\x02\x01", 4) +
                                     std::string("\x88\x77\x66\x55\x44\x33\x22\x11", 8) + std::string("\x00", 1) +
                                     "\x7f" + std::string("\x80\x01", 2) + std::string("\x80\x80\x01", 3) +
                                     std::string(9, '\xff') + "\x01" + std::string("\x02\x00\x00\x00", 4) + "xy";
        CHECK(w.data() == expected);
    }
}

TEST_CASE("signed varints zigzag, short bytes carry a varint length, and both read back") {
    const std::pair<int64_t, std::string> cases[] = {{0, std::string("\x00", 1)}, {-1, "\x01"}, {1, "\x02"}, {-2, "\x03"},
                                                     {63, "\x7e"}, {-64, "\x7f"}, {64, std::string("\x80\x01", 2)},
                                                     {INT64_MAX, "\xfe" + std::string(8, '\xff') + "\x01"},
                                                     {INT64_MIN, std::string(9, '\xff') + "\x01"}};
    for (const auto& [v, encoded] : cases) {
        Writer w;
        w.signed_varint(v);
        CHECK(w.data() == encoded);
        Reader r(w.data());
        CHECK(r.signed_varint() == v);
        CHECK((r.ok() && r.at_end()));
    }
    Writer w;
    w.short_bytes("");
    w.short_bytes(std::string(200, 'a'));
    CHECK(w.data().substr(0, 3) == std::string("\x00\xc8\x01", 3));
    Reader r(w.data());
    CHECK(r.short_bytes(200).empty());
    CHECK(r.short_bytes(200) == std::string(200, 'a'));
    CHECK((r.ok() && r.at_end()));
    Reader over(w.data());
    over.short_bytes(0);
    over.short_bytes(199);
    CHECK_FALSE(over.ok());  // longer than allowed
    Reader torn(std::string_view(w.data()).substr(0, w.data().size() - 1));
    torn.short_bytes(200);
    torn.short_bytes(200);
    CHECK_FALSE(torn.ok());
}

TEST_CASE("varints: minimal LEB128 only") {
    for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{16383}, uint64_t{16384},
                       uint64_t{1} << 63, UINT64_MAX}) {
        Writer w;
        w.varint(v);
        Reader r(w.data());
        CHECK(r.varint() == v);
        CHECK((r.ok() && r.at_end()));
    }
    Writer w;
    w.varint(300);
    CHECK(w.data() == std::string("\xac\x02", 2));
    for (std::string bad : {std::string("\x80\x00", 2), std::string("\xff\x80\x00", 3), std::string("\x80"),
                            std::string(9, '\xff') + "\x02", std::string(10, '\x80') + "\x01", std::string()}) {
        Reader r(bad);
        r.varint();
        CHECK_FALSE(r.ok());
    }
}
