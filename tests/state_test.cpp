#include "state/commitment.hpp"
#include "state/records.hpp"
#include "testkit.hpp"

#include <doctest/doctest.h>
#include <rocksdb/db.h>
#include <sodium.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <random>
#include <thread>

using namespace clearnode;
using namespace clearnode::test;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() / ("clearnode-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        std::filesystem::remove_all(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    static int& counter() { static int n = 0; return n; }
};

std::unique_ptr<RocksStore> open_rocks(const std::filesystem::path& dir) {
    std::string error;
    RocksOptions options;
    options.create_if_missing = true;
    auto store = RocksStore::open(dir.string(), options, error);
    REQUIRE_MESSAGE(store, error);
    return store;
}

}  // namespace

TEST_CASE("a leaf's expansion is ChaCha20's keystream: RFC 8439's vector, and libsodium's bytes at any length") {
    // RFC 8439 A.1, test vector 1: key and nonce zero, block counter 0.
    std::array<uint8_t, 64> first{};
    expand_seed(Hash32{}, first);
    CHECK(to_hex(first) ==
          "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
          "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");
    // The root was defined with libsodium's crypto_stream_chacha20_ietf (zero nonce); OpenSSL
    // computes it now, so every length a block could ask for must give the same bytes, on
    // any thread (each has its own context).
    REQUIRE(sodium_init() >= 0);
    const std::array<uint8_t, crypto_stream_chacha20_ietf_NONCEBYTES> nonce{};
    const auto compare = [&](uint8_t tag) {
        for (const size_t length : {size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{2048}, size_t{4103}}) {
            const Hash32 seed = blake2b_256(as_bytes(std::to_string(tag) + "/" + std::to_string(length)));
            std::vector<uint8_t> ours(length), theirs(length);
            expand_seed(seed, ours);
            crypto_stream_chacha20_ietf(theirs.data(), theirs.size(), nonce.data(), seed.data());
            CHECK(ours == theirs);
        }
    };
    compare(0);
    std::thread other([&] { compare(1); });  // doctest's CHECK is thread-safe
    other.join();
}

TEST_CASE("a leaf's seed is SHA-256 of its documented encoding: FIPS 180-2's vectors, and libsodium's digest") {
    // FIPS 180-2 appendix B.1 and B.2 (one block, two blocks), whole and cut into parts.
    CHECK(to_hex(sha256({as_bytes("abc")})) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(to_hex(sha256({as_bytes("a"), as_bytes(""), as_bytes("bc")})) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK(to_hex(sha256({as_bytes(std::string_view(two_blocks).substr(0, 30)), as_bytes(std::string_view(two_blocks).substr(30))})) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    // leaf_seed(k, v) = SHA-256("clearnode/leaf/v2" || u32le |k| || k || u32le |v| || v),
    // recomputed from one concatenated buffer by another implementation (libsodium's), on
    // two threads (each has its own OpenSSL context). Lengths cross SHA-256's 64-byte blocks.
    REQUIRE(sodium_init() >= 0);
    const auto u32le = [](size_t n) { return std::string{char(n), char(n >> 8), char(n >> 16), char(n >> 24)}; };
    const auto compare = [&](char fill) {
        for (const size_t key_bytes : {size_t{0}, size_t{1}, size_t{41}, size_t{300}})
            for (const size_t value_bytes : {size_t{0}, size_t{110}, size_t{1000}}) {
                const std::string key(key_bytes, fill), value(value_bytes, static_cast<char>(fill + 1));
                const std::string encoding = "clearnode/leaf/v2" + u32le(key.size()) + key + u32le(value.size()) + value;
                Hash32 theirs;
                crypto_hash_sha256(theirs.data(), reinterpret_cast<const unsigned char*>(encoding.data()), encoding.size());
                CHECK(leaf_seed(key, value) == theirs);
            }
    };
    compare('k');
    std::thread other([&] { compare('x'); });
    other.join();
}

TEST_CASE("the state root does not depend on the order in which entries were written") {
    std::vector<std::pair<std::string, std::string>> entries;
    for (int i = 0; i < 200; ++i) entries.emplace_back("k/" + std::to_string(i * 7919 % 1000), "value-" + std::to_string(i));
    StateCommitment forward, backward, shuffled;
    for (const auto& [k, v] : entries) forward.add(k, v);
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) backward.add(it->first, it->second);
    auto copy = entries;
    std::mt19937 rng(42);  // the test's own order, not consensus
    std::shuffle(copy.begin(), copy.end(), rng);
    for (const auto& [k, v] : copy) shuffled.add(k, v);
    CHECK(forward.root() == backward.root());
    CHECK(forward.root() == shuffled.root());
    // Removing what was added returns to the empty root; changing one value changes the root.
    StateCommitment again = forward;
    again.remove(entries[3].first, entries[3].second);
    CHECK(again.root() != forward.root());
    again.add(entries[3].first, entries[3].second);
    CHECK(again.root() == forward.root());
    for (const auto& [k, v] : entries) again.remove(k, v);
    CHECK(again.root() == StateCommitment{}.root());
    // The key and the value are bound separately: ("ab","c") is not ("a","bc").
    StateCommitment one, two;
    one.add("ab", "c");
    two.add("a", "bc");
    CHECK(one.root() != two.root());
}

TEST_CASE("early leaf removals on a helper sum to removing the same leaves in place, with or without a worker") {
    std::vector<Hash32> seeds;
    for (int i = 0; i < 1000; ++i) seeds.push_back(leaf_seed("k/" + std::to_string(i), "v"));
    StateCommitment all;
    for (const Hash32& seed : seeds) all.add_leaf(seed);
    for (unsigned workers : {0u, 1u}) {
        CAPTURE(workers);
        WorkerPool helpers(workers);  // none: finish() removes them all on the caller
        // 700 of them: ten full batches of 64 and a partial one the task takes at finish().
        StateCommitment in_place = all;
        EarlyLeafRemovals early(helpers);
        for (size_t i = 0; i < 700; ++i) {
            in_place.remove_leaf(seeds[i]);
            early.remove(seeds[i]);
        }
        StateCommitment merged = all;
        merged.merge(early.finish());
        CHECK(merged == in_place);
        CHECK(merged.root() != all.root());
        // Nothing removed: the sum is the empty accumulator, and merging it changes nothing.
        EarlyLeafRemovals none(helpers);
        StateCommitment unchanged = all;
        unchanged.merge(none.finish());
        CHECK(unchanged == all);
        // Dropped without finish(), as a failed block's: the destructor waits for its task (a
        // task left waiting would hang the pool's destructor: ctest's timeout), and the pool
        // serves the next block's removals, whose sum is theirs alone.
        {
            EarlyLeafRemovals dropped(helpers);
            for (const Hash32& seed : seeds) dropped.remove(seed);
        }
        EarlyLeafRemovals next(helpers);
        next.remove(seeds[0]);
        StateCommitment one_removed = all;
        one_removed.merge(next.finish());
        StateCommitment expected = all;
        expected.remove_leaf(seeds[0]);
        CHECK(one_removed == expected);
    }
}

TEST_CASE("two stores written in different orders by different backends agree") {
    TempDir dir;
    auto rocks = open_rocks(dir.path);
    MemoryStore memory;
    WriteSet all;
    for (int i = 0; i < 100; ++i) all["account/" + std::to_string(i)] = "v" + std::to_string(i * i);
    // Memory: one commit. RocksDB: two commits, the second half first.
    CHECK(memory.commit(all).ok());
    WriteSet first_half, second_half;
    for (auto& [k, v] : all) (first_half.size() < 50 ? first_half : second_half)[k] = v;
    CHECK(rocks->commit(second_half).ok());
    CHECK(rocks->commit(first_half).ok());
    CHECK(StateCommitment::from_scratch(memory).root() == StateCommitment::from_scratch(*rocks).root());
    // Incremental updates agree with a full rehash.
    StateCommitment incremental = StateCommitment::from_scratch(memory);
    WriteSet change{{"account/3", std::nullopt}, {"account/4", "changed"}, {"account/new", "n"}};
    incremental.apply(memory, change);
    CHECK(memory.commit(change).ok());
    CHECK(incremental.root() == StateCommitment::from_scratch(memory).root());
}

TEST_CASE("apply matches a full rehash on any number of threads, block after block") {
    // Blocks of skewed random writes (hot keys rewritten block after block, often with the
    // value they already hold), erasures and bookkeeping, folded on 1 to 4 threads; some are
    // folded into a copy and dropped, as when a commit fails.
    std::vector<std::vector<Hash32>> roots_by_threads;
    for (unsigned threads : {1u, 2u, 3u, 4u}) {
        std::mt19937_64 rng(7);  // the test's own inputs, not consensus
        WorkerPool helpers(threads - 1);
        MemoryStore store;
        StateCommitment committed;
        std::vector<Hash32> roots;
        for (int block = 0; block < 24; ++block) {
            WriteSet writes;
            const size_t count = block % 4 == 0 ? 1000 : rng() % 100;
            for (size_t i = 0; i < count; ++i) {
                const uint64_t k = rng() % (1 + rng() % 2000);
                std::optional<std::string> value;
                switch (rng() % 6) {
                    case 0: break;  // erase (or erase nothing)
                    case 1: value = "same"; break;
                    default: value = "v" + std::to_string(rng() % 1000) + std::string(rng() % 200, 'x'); break;
                }
                writes["k/" + std::to_string(k)] = value;
            }
            writes["~bookkeeping"] = "outside the root";
            StateCommitment next = committed;
            next.apply(store, writes, helpers);
            if (block % 5 == 2) continue;
            REQUIRE(store.commit(writes).ok());
            committed = next;
            CHECK(committed == StateCommitment::from_scratch(store));
            roots.push_back(committed.root());
        }
        roots_by_threads.push_back(std::move(roots));
    }
    for (const auto& roots : roots_by_threads) CHECK(roots == roots_by_threads.front());
}

TEST_CASE("overlay reads and scans merge writes over the base in key order") {
    MemoryStore base;
    CHECK(base.commit({{"a/1", "1"}, {"a/2", "2"}, {"a/4", "4"}, {"b/1", "x"}}).ok());
    Overlay block(base);
    block.put("a/3", "3");
    block.erase("a/2");
    Overlay tx(static_cast<const StateReader&>(block));
    tx.put("a/0", "0");
    tx.put("a/4", "four");
    CHECK(tx.writes().size() == 2);  // its own writes only, not a copy of the block's
    std::vector<std::string> seen;
    tx.scan("a/", [&](std::string_view k, std::string_view v) {
        seen.push_back(std::string(k) + "=" + std::string(v));
        return true;
    });
    CHECK(seen == std::vector<std::string>{"a/0=0", "a/1=1", "a/3=3", "a/4=four"});
    CHECK_FALSE(tx.get("a/2"));
    CHECK(*base.get("a/2") == "2");
    CHECK_FALSE(block.get("a/0"));  // the layer below does not see the writes above it
}

TEST_CASE("records round-trip and the nonce window keeps the 100 highest") {
    NonceWindow w;
    for (uint64_t n = 1; n <= 100; ++n) {
        CHECK(w.accepts(n));
        w.use(n);
    }
    CHECK_FALSE(w.accepts(50));   // used
    CHECK_FALSE(w.accepts(0));    // below the smallest of a full window
    CHECK(w.accepts(1000));
    w.use(1000);                  // drops 1
    CHECK(w.nonces.front() == 2);
    CHECK_FALSE(w.accepts(1));
    CHECK(w.accepts(101));
    CHECK(decode_nonces(encode(w)) == w);

    AccountRecord a;
    a.collateral_usd = -5;
    auto& p = a.entry("ETH");
    p.size_lots = -3;
    p.cost_usd = -9;
    p.funding_index = -Wide("123456789012345678901234567890");
    a.entry("BTC").leverage = 7;
    CHECK(a.markets.front().market == "BTC");
    CHECK(decode_account(encode(a)) == a);
    CHECK_THROWS_AS(decode_account(encode(a).substr(1)), StorageError);

    // The window is the account's last field, in its own encoding, so an account that has
    // used no nonce encodes as before the window joined it.
    const std::string without_window = encode(a);
    a.nonces = w;
    CHECK(encode(a) == without_window + encode(w));
    CHECK(decode_account(encode(a)) == a);
    CHECK_THROWS_AS(decode_account(without_window + std::string("\x05\x00", 2)), StorageError);  // a repeated nonce
    CHECK_THROWS_AS(decode_account(encode(a) + "\x80"), StorageError);                           // a truncated gap

    // One encoding per record: a funding index of "-0" (sign byte 1, magnitude 0) is corrupt.
    AccountRecord zero_index;
    MarketPosition& btc = zero_index.entry("BTC");
    btc.isolated_margin_usd = -1;        // eight 0xff bytes just before the funding index
    btc.last_partial_liquidation_ms = 7;  // and a non-zero byte just after it
    std::string bytes = encode(zero_index);
    const size_t at = bytes.find(std::string(8, '\xff') + std::string(17, '\0') + '\x07');
    REQUIRE(at != std::string::npos);
    CHECK(decode_account(bytes) == zero_index);
    bytes[at + 8] = '\x01';  // the sign byte: "-0"
    CHECK_THROWS_AS(decode_account(bytes), StorageError);
}

TEST_CASE("the nonce window's encoding: first nonce then LEB128 gaps, one encoding per window") {
    NonceWindow w;
    CHECK(encode(w).empty());
    CHECK(decode_nonces("") == w);
    w.nonces = {5, 6, 134, UINT64_MAX};
    // 5; gap 1; gap 128 = 0x80 0x01; gap 2^64 - 1 - 134 in 10 bytes.
    const std::string bytes = encode(w);
    CHECK(bytes.substr(0, 4) == std::string("\x05\x01\x80\x01", 4));
    CHECK(bytes.size() == 4 + 10);
    CHECK(decode_nonces(bytes) == w);
    // A full window of sequential nonces: one byte each after the first.
    NonceWindow full;
    for (uint64_t n = 1'000'000; n < 1'000'000 + nonce_window_size; ++n) full.use(n);
    CHECK(encode(full).size() == 3 + (nonce_window_size - 1));
    CHECK(decode_nonces(encode(full)) == full);

    const auto rejects = [](std::string_view b) { CHECK_THROWS_AS(decode_nonces(b), StorageError); };
    rejects(std::string("\x05\x00", 2));          // a zero gap: a repeated nonce
    rejects(std::string("\x80\x00", 2));          // 0 padded to two bytes
    rejects(std::string("\x85\x00", 2));          // 5 padded to two bytes
    rejects(std::string("\x05\x81\x00", 3));      // gap 1 padded
    rejects("\x80");                              // truncated varint (a trailing byte)
    rejects("\x05\x81");                          // truncated gap
    rejects(std::string(9, '\xff') + "\x02");     // bit 64 set
    rejects(std::string(10, '\xff') + "\x01");    // 11 bytes
    rejects(std::string(9, '\xff') + "\x01" + "\x01");  // UINT64_MAX, then past it
    rejects(std::string(nonce_window_size + 1, '\x01'));  // 101 nonces
    CHECK(decode_nonces(std::string(nonce_window_size, '\x01')).nonces.size() == nonce_window_size);

    // Whatever decodes must be the encoding of what it decodes to: every string of up to two
    // bytes, every three-byte string over the bytes where varints change meaning, then mutated
    // encodings of random windows.
    size_t accepted = 0;
    const auto canonical_if_accepted = [&](const std::string& b) {
        NonceWindow decoded;
        try {
            decoded = decode_nonces(b);
        } catch (const StorageError&) {
            return;
        }
        ++accepted;
        REQUIRE_MESSAGE(encode(decoded) == b, "accepted a non-canonical nonce window");
    };
    for (int a = -1; a < 256; ++a)
        for (int b = -1; b < 256; ++b) {
            std::string s;
            if (a >= 0) s += static_cast<char>(a);
            if (b >= 0) s += static_cast<char>(b);
            canonical_if_accepted(s);
        }
    const unsigned char edges[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, 0xff};
    for (unsigned char a : edges)
        for (unsigned char b : edges)
            for (unsigned char c : edges) canonical_if_accepted(std::string{char(a), char(b), char(c)});
    std::mt19937_64 rng(20261122);  // the test's own inputs, not consensus
    for (int round = 0; round < 3000; ++round) {
        NonceWindow random;
        const size_t count = rng() % (nonce_window_size + 1);
        const unsigned gap_bits = 1 + static_cast<unsigned>(rng() % 40);
        uint64_t next = rng() >> (rng() % 64);
        for (size_t i = 0; i < count; ++i) {
            random.nonces.push_back(next);
            const uint64_t gap = 1 + (rng() >> (64 - gap_bits));
            if (next > UINT64_MAX - gap) break;
            next += gap;
        }
        std::string b = encode(random);
        REQUIRE(decode_nonces(b) == random);
        switch (rng() % 4) {
            case 0: if (!b.empty()) b[rng() % b.size()] ^= static_cast<char>(1u << (rng() % 8)); break;
            case 1: b.insert(b.begin() + static_cast<std::ptrdiff_t>(rng() % (b.size() + 1)), static_cast<char>(rng())); break;
            case 2: if (!b.empty()) b.erase(rng() % b.size(), 1); break;
            default: b.resize(rng() % (b.size() + 1)); break;
        }
        canonical_if_accepted(b);
    }
    CHECK(accepted > 1000);
}

TEST_CASE("a RocksDB commit is all or nothing and survives reopening") {
    TempDir dir;
    {
        auto rocks = open_rocks(dir.path);
        CHECK(rocks->commit({{"x", "1"}, {"y", "2"}}).ok());
    }
    auto rocks = open_rocks(dir.path);
    CHECK(*rocks->get("x") == "1");
    CHECK(*rocks->get("y") == "2");
    std::string error;
    RocksOptions options;
    auto second = RocksStore::open(dir.path.string(), options, error);
    CHECK_FALSE(second);  // the database's own lock stops a second writer
    CHECK_FALSE(error.empty());
}

namespace {
// Bytes in the database's write-ahead log files: what the next open would have to replay.
uintmax_t wal_bytes(const std::filesystem::path& dir) {
    uintmax_t total = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.path().extension() == ".log") total += entry.file_size();
    return total;
}
}  // namespace

namespace {
std::vector<std::pair<std::string, std::string>> all_entries(const StateReader& reader, std::string_view prefix = "") {
    std::vector<std::pair<std::string, std::string>> out;
    reader.scan(prefix, [&](std::string_view key, std::string_view value) {
        out.emplace_back(key, value);
        return true;
    });
    return out;
}
}  // namespace

// A node with a large record cache keeps its memtable unsorted (rocks_store.cpp): its reads
// sort a copy. Whatever it keeps, a store must answer from unflushed writes, overwrites and
// deletions as a map does, and a secondary (whose memtable is a skiplist) must agree.
TEST_CASE("a RocksDB store answers from its unsorted memtable as a map does, and so does a secondary") {
    TempDir dir;
    std::string error;
    RocksOptions options;
    options.create_if_missing = true;
    options.record_cache_mb = 512;  // 8 times the two 32 MB vector memtables of the default block cache
    auto rocks = RocksStore::open(dir.path.string(), options, error);
    REQUIRE_MESSAGE(rocks, error);
    CHECK(rocks->memtable_kind() == "VectorRepFactory");
    MemoryStore expected;
    std::mt19937_64 random(7);
    for (int commit = 0; commit < 20; ++commit) {
        WriteSet writes;
        for (int i = 0; i < 30; ++i) {
            const std::string key = (random() % 4 == 0 ? "holder/" : "account/") + std::to_string(random() % 200);
            if (random() % 5 == 0) writes[key] = std::nullopt;
            else writes[key] = std::string(1 + random() % 40, static_cast<char>('a' + commit));
        }
        REQUIRE(rocks->commit(writes).ok());
        REQUIRE(expected.commit(writes).ok());
        for (int i = 0; i < 200; ++i) {
            const std::string key = "account/" + std::to_string(i);
            CHECK(rocks->get(key) == expected.get(key));
        }
        CHECK(all_entries(*rocks, "holder/") == all_entries(expected, "holder/"));
    }
    // No table file yet: every answer came from the memtable.
    for (const auto& entry : std::filesystem::directory_iterator(dir.path)) CHECK(entry.path().extension() != ".sst");
    CHECK(all_entries(*rocks) == all_entries(expected));

    RocksOptions secondary_options = options;
    secondary_options.secondary_path = (dir.path / "secondary").string();
    auto secondary = RocksStore::open(dir.path.string(), secondary_options, error);
    REQUIRE_MESSAGE(secondary, error);
    CHECK(secondary->memtable_kind() == "SkipListFactory");
    CHECK(all_entries(*secondary) == all_entries(expected));
    CHECK(secondary->get("account/0") == expected.get("account/0"));
}

TEST_CASE("a writable store keeps its memtable unsorted only with a record cache of eight times the memtables, and bounds memtables and log by the block cache") {
    TempDir dir;
    std::string error;
    RocksOptions options;
    options.create_if_missing = true;
    options.block_cache_mb = 64;  // memtables of 8 MB, two of them
    // Not a structured binding: clang 14 does not let CHECK_MESSAGE's lambda capture one.
    for (const auto& expected : {std::pair<size_t, std::string>{0, "SkipListFactory"},
                                 {127, "SkipListFactory"},
                                 {128, "VectorRepFactory"}}) {
        options.record_cache_mb = expected.first;
        auto rocks = RocksStore::open(dir.path.string(), options, error);
        REQUIRE_MESSAGE(rocks, error);
        CHECK_MESSAGE(rocks->memtable_kind() == expected.second, expected.first);
        const auto sizes = rocks->memtable_sizes();
        CHECK(sizes.memtable_bytes == size_t{8} << 20);
        // Memtables may take a quarter of the cache, half when they are vectors; the log that
        // a crash replays is bounded by the same (or two memtables, if that is more).
        const size_t budget_mb = expected.second == "VectorRepFactory" ? 32 : 16;
        CHECK(sizes.memtables_bytes_max == budget_mb << 20);
        CHECK(sizes.wal_bytes_max == budget_mb << 20);
    }
    // At the default block cache a skiplist stops at 16 MB and a vector goes to 32 MB, so the
    // record cache it takes is eight times two of those.
    options.block_cache_mb = RocksOptions{}.block_cache_mb;
    REQUIRE(options.block_cache_mb == 256);
    for (const auto& expected : {std::pair<size_t, size_t>{511, 16}, {512, 32}}) {
        options.record_cache_mb = expected.first;
        auto rocks = RocksStore::open(dir.path.string(), options, error);
        REQUIRE_MESSAGE(rocks, error);
        const bool vector = expected.second == 32;
        CHECK(rocks->memtable_kind() == (vector ? "VectorRepFactory" : "SkipListFactory"));
        const auto sizes = rocks->memtable_sizes();
        CHECK(sizes.memtable_bytes == expected.second << 20);
        CHECK(sizes.memtables_bytes_max == size_t{vector ? 128u : 64u} << 20);
        CHECK(sizes.wal_bytes_max == size_t{vector ? 128u : 64u} << 20);
    }
    // Below 8 MB of cache a memtable stays at its 1 MB floor, above a quarter of the cache: the
    // log's bound is then two memtables, not the smaller budget (max(budget, 2 x memtable)).
    options.block_cache_mb = 4;
    options.record_cache_mb = 0;
    {
        auto rocks = RocksStore::open(dir.path.string(), options, error);
        REQUIRE_MESSAGE(rocks, error);
        const auto sizes = rocks->memtable_sizes();
        CHECK(sizes.memtable_bytes == size_t{1} << 20);
        CHECK(sizes.memtables_bytes_max == size_t{1} << 20);
        CHECK(sizes.wal_bytes_max == size_t{2} << 20);
    }
    options.read_only = true;
    auto read_only = RocksStore::open(dir.path.string(), options, error);
    REQUIRE_MESSAGE(read_only, error);
    CHECK(read_only->memtable_kind() == "SkipListFactory");
}

TEST_CASE("a RocksDB store closed cleanly keeps its data and leaves no write-ahead log to replay") {
    TempDir dir;
    auto rocks = open_rocks(dir.path);
    WriteSet writes;
    for (int i = 0; i < 1000; ++i) writes["k/" + std::to_string(i)] = "value-" + std::to_string(i);
    REQUIRE(rocks->commit(writes).ok());
    REQUIRE(rocks->commit({{"k/7", std::nullopt}, {"z", "last"}}).ok());
    CHECK(wal_bytes(dir.path) > 0);  // committed: durable in the log, not yet in a table file
    REQUIRE(rocks->close().ok());
    CHECK(wal_bytes(dir.path) == 0);
    rocks = open_rocks(dir.path);
    CHECK(*rocks->get("k/0") == "value-0");
    CHECK(*rocks->get("k/999") == "value-999");
    CHECK_FALSE(rocks->get("k/7"));
    CHECK(*rocks->get("z") == "last");
    rocks.reset();  // the destructor closes as cleanly
    CHECK(wal_bytes(dir.path) == 0);
}

namespace {
const std::vector<std::string> log_prefixes = {"~", "~block/", "~receipts/"};

// Keys of every family: state, the bookkeeping family and both log families, and keys that
// share a family's first bytes without its prefix ("~b", "~blocks", "~r").
std::string any_family_key(std::mt19937_64& random) {
    static const std::array<std::string, 8> types = {"account/", "holder/", "~tx/", "~meta/", "~block/", "~receipts/", "~b", "~blocks"};
    return types[random() % types.size()] + std::to_string(random() % 50);
}

// The keys RocksDB's default column family holds, read beside the store (which hides the
// families): where a key lives, not only what the store answers.
std::vector<std::string> default_family_keys(const std::filesystem::path& dir) {
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    const std::vector<rocksdb::ColumnFamilyDescriptor> only_default = {{rocksdb::kDefaultColumnFamilyName, {}}};
    const rocksdb::Status s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir.string(), only_default, &handles, &raw);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::vector<std::string> keys;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, handles[0]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
    it.reset();
    REQUIRE(db->DestroyColumnFamilyHandle(handles[0]).ok());
    return keys;
}

void check_same_entries(const StateReader& store, const StateReader& expected) {
    for (const std::string prefix : {"", "~", "~b", "~block/", "~blocks", "~r", "~receipts/", "account/", "a", "~tx/"})
        CHECK_MESSAGE(all_entries(store, prefix) == all_entries(expected, prefix), prefix);
}
}  // namespace

// The node keeps its block log in column families of its own (RocksOptions::family_prefixes).
// Whatever family a key lives in, the store must read, scan (in key order, across families)
// and commit as one map, and so must a store opened read-only or as a secondary.
TEST_CASE("a RocksDB store with column families reads, scans and commits as one map") {
    TempDir dir;
    std::string error;
    RocksOptions options;
    options.create_if_missing = true;
    options.family_prefixes = log_prefixes;
    auto rocks = RocksStore::open(dir.path.string(), options, error);
    REQUIRE_MESSAGE(rocks, error);
    CHECK(rocks->family_prefixes() == log_prefixes);
    MemoryStore expected;
    std::mt19937_64 random(11);
    for (int commit = 0; commit < 20; ++commit) {
        WriteSet writes;
        for (int i = 0; i < 40; ++i) {
            const std::string key = any_family_key(random);
            if (random() % 5 == 0) writes[key] = std::nullopt;
            else writes[key] = std::string(1 + random() % 40, static_cast<char>('a' + commit));
        }
        REQUIRE(rocks->commit(writes).ok());
        REQUIRE(expected.commit(writes).ok());
        for (int i = 0; i < 50; ++i) {
            const std::string key = any_family_key(random);
            CHECK(rocks->get(key) == expected.get(key));
        }
    }
    check_same_entries(*rocks, expected);

    RocksOptions secondary_options;  // declares no families: it opens the ones the database has
    secondary_options.secondary_path = (dir.path / "secondary").string();
    auto secondary = RocksStore::open(dir.path.string(), secondary_options, error);
    REQUIRE_MESSAGE(secondary, error);
    CHECK(secondary->family_prefixes() == log_prefixes);
    check_same_entries(*secondary, expected);
    secondary.reset();

    REQUIRE(rocks->close().ok());
    CHECK(wal_bytes(dir.path) == 0);  // every family flushed
    const auto state_keys = default_family_keys(dir.path);
    CHECK_FALSE(state_keys.empty());
    for (const auto& key : state_keys) CHECK_MESSAGE(is_state_key(key), key);
    RocksOptions read_only;
    read_only.read_only = true;
    auto reopened = RocksStore::open(dir.path.string(), read_only, error);
    REQUIRE_MESSAGE(reopened, error);
    CHECK(reopened->family_prefixes() == log_prefixes);
    check_same_entries(*reopened, expected);
}

// A store written before its prefixes had families (a node's home from an older clearnode)
// keeps those keys where they are; only a prefix with no keys yet gets its family.
TEST_CASE("a RocksDB store written before its column families were declared keeps its keys where they are") {
    TempDir dir;
    MemoryStore expected;
    const WriteSet before = {{"account/1", "a"}, {"~tx/1", "t"}, {"~receipts/1", "r"}};
    REQUIRE(open_rocks(dir.path)->commit(before).ok());
    REQUIRE(expected.commit(before).ok());

    std::string error;
    RocksOptions options;
    options.family_prefixes = log_prefixes;
    auto rocks = RocksStore::open(dir.path.string(), options, error);
    REQUIRE_MESSAGE(rocks, error);
    CHECK(rocks->family_prefixes() == std::vector<std::string>{"~block/"});
    const WriteSet after = {{"~block/1", "b"}, {"~tx/2", "u"}, {"~receipts/2", "s"}, {"~receipts/1", std::nullopt}};
    REQUIRE(rocks->commit(after).ok());
    REQUIRE(expected.commit(after).ok());
    check_same_entries(*rocks, expected);
    rocks.reset();

    rocks = RocksStore::open(dir.path.string(), options, error);  // the same families again
    REQUIRE_MESSAGE(rocks, error);
    CHECK(rocks->family_prefixes() == std::vector<std::string>{"~block/"});
    check_same_entries(*rocks, expected);
    CHECK(rocks->get("~receipts/2") == "s");
    CHECK_FALSE(rocks->get("~receipts/1"));
    rocks.reset();
    CHECK(default_family_keys(dir.path) == std::vector<std::string>{"account/1", "~receipts/2", "~tx/1", "~tx/2"});
}
