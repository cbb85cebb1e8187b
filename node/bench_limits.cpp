#include "node/bench_limits.hpp"

#include "crypto/worker_pool.hpp"
#include "node/bench_workload.hpp"
#include "state/commitment.hpp"
#include "state/records.hpp"
#include "state/store.hpp"

#include <sys/resource.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <vector>

// jemalloc's control call, present only when jemalloc is linked in (weak: null otherwise).
extern "C" int mallctl(const char* name, void* old_value, size_t* old_bytes, void* new_value, size_t new_bytes)
    __attribute__((weak));

namespace clearnode::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Runs `round` (which does `per_round` operations) until `seconds` have passed; operations/s.
template <typename Round>
double rate(size_t per_round, double seconds, Round round) {
    size_t done = 0;
    const auto start = Clock::now();
    double elapsed = 0;
    do {
        round();
        done += per_round;
        elapsed = seconds_since(start);
    } while (elapsed < seconds);
    return static_cast<double>(done) / elapsed;
}

std::string random_bytes(Rng& rng, size_t n) {
    std::string out(n, '\0');
    for (auto& c : out) c = static_cast<char>(rng.next());
    return out;
}

}  // namespace

double process_cpu_s() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

VerifyRate verify_rate(std::span<const KeyPair> keys, unsigned threads, double seconds) {
    constexpr size_t messages_per_round = 8192;
    std::vector<SignedMessage> messages(messages_per_round);
    for (size_t i = 0; i < messages.size(); ++i) {
        const KeyPair& key = keys[i % keys.size()];
        messages[i].public_key = key.public_key;
        messages[i].digest = blake2b_256(as_bytes(std::to_string(i)));
        messages[i].signature = sign(key.secret_key, as_bytes(messages[i].digest));
    }
    // The node's own machinery: a pool's workers and the calling thread, `threads` in all.
    WorkerPool pool(threads - 1);
    size_t failures = 0;
    size_t verified = 0;
    const double cpu_start_s = process_cpu_s();
    const double per_s = rate(messages.size(), seconds, [&] {
        for (uint8_t ok : verify_batch(messages, pool)) failures += ok ? 0 : 1;
        verified += messages.size();
    });
    const double cpu_s = process_cpu_s() - cpu_start_s;
    if (failures != 0) return {};  // a machine whose verifications fail has no limit to report
    return {per_s, cpu_s * 1e6 / static_cast<double>(verified)};
}

double blake2b_per_s(size_t input_bytes, double seconds) {
    constexpr size_t per_round = 10'000;
    std::string input(input_bytes, 'x');
    return rate(per_round, seconds, [&] {
        for (size_t i = 0; i < per_round; ++i) {
            const Hash32 h = blake2b_256(as_bytes(input));
            input[0] = static_cast<char>(h[0]);  // a dependency, so the loop cannot be skipped
        }
    });
}

double leaf_per_s(size_t key_bytes, size_t value_bytes, double seconds) {
    constexpr size_t per_round = 1'000;
    Rng rng(1);
    const std::string key = random_bytes(rng, key_bytes);
    std::string value = random_bytes(rng, value_bytes);
    StateCommitment commitment;
    return rate(per_round, seconds, [&] {
        for (size_t i = 0; i < per_round; ++i) {
            commitment.add(key, value);
            value[0] = static_cast<char>(i);
        }
    });
}

double rocksdb_puts_per_s(const std::string& path, const PutShape& shape, RocksOptions options, std::string& error) {
    options.create_if_missing = true;
    auto store = RocksStore::open(path, options, error);
    if (!store) return 0;
    Rng rng(2);
    const std::string value = random_bytes(rng, shape.value_bytes);
    // Distinct keys of the engine's key size and shape (a type prefix, then a random id), drawn
    // by index so that keys repeat across batches as accounts do.
    const std::string_view prefix = keys::account_prefix;
    auto key_of = [&](uint64_t index) {
        Rng key_rng(index + 1);
        return std::string(prefix) + random_bytes(key_rng, std::max(shape.key_bytes, prefix.size()) - prefix.size());
    };
    double committing_s = 0;
    size_t puts = 0;
    for (size_t b = 0; b < shape.batches; ++b) {
        WriteSet writes;
        while (writes.size() < shape.entries_per_batch) writes.insert_or_assign(key_of(rng.below(shape.keyspace)), value);
        const auto start = Clock::now();
        const Status status = store->commit(writes);
        committing_s += seconds_since(start);
        if (!status.ok()) {
            error = status.error;
            return 0;
        }
        puts += writes.size();
    }
    return committing_s > 0 ? static_cast<double>(puts) / committing_s : 0;
}

std::string allocator_name() {
    if (mallctl == nullptr) return "system";
    const char* version = nullptr;
    size_t version_bytes = sizeof(version);
    if (mallctl("version", &version, &version_bytes, nullptr, 0) != 0 || version == nullptr) return "jemalloc";
    std::string name = std::string("jemalloc ") + version;
    // Whether freed pages go back to the kernel (node/jemalloc_options.cpp): -1 is never.
    ssize_t dirty_decay_ms = 0;
    size_t decay_bytes = sizeof(dirty_decay_ms);
    if (mallctl("opt.dirty_decay_ms", &dirty_decay_ms, &decay_bytes, nullptr, 0) == 0)
        name += " dirty_decay_ms " + std::to_string(dirty_decay_ms);
    return name;
}

}  // namespace clearnode::bench
