// The machine's limits that `clearnode bench` compares the node with: what libsodium verifies,
// what RocksDB writes and what BLAKE2b and the state root's leaf hash cost, each measured alone.
#pragma once

#include "crypto/crypto.hpp"
#include "state/store.hpp"

#include <cstddef>
#include <span>
#include <string>

namespace clearnode::bench {

// This process's CPU time so far (user and system, every thread), in seconds. On a shared
// host it moves less than wall time with the neighbours' load.
double process_cpu_s();

// Ed25519 verifications through verify_batch on a worker pool (the engine's machinery) on
// `threads` threads, over 32-byte digests signed by `keys` (cycled), for about `seconds`:
// how many per second of wall time, and the process CPU each took. Verification alone:
// hashing the digests is the node's cost, not the limit's.
struct VerifyRate {
    double per_s = 0;
    double cpu_us_per_verify = 0;
};
VerifyRate verify_rate(std::span<const KeyPair> keys, unsigned threads, double seconds);

// BLAKE2b-256 hashes of `input_bytes`-byte inputs per second, on one thread.
double blake2b_per_s(size_t input_bytes, double seconds);

// State-root leaves (BLAKE2b + ChaCha20 expansion + lane sum) per second, on one thread, for
// entries of the given sizes.
double leaf_per_s(size_t key_bytes, size_t value_bytes, double seconds);

// The shape of the writes to reproduce: `batches` atomic batches of `entries_per_batch` puts
// of keys drawn from `keyspace` distinct keys, with the sizes the engine wrote.
struct PutShape {
    size_t batches = 0;
    size_t entries_per_batch = 0;
    size_t key_bytes = 0;
    size_t value_bytes = 0;
    size_t keyspace = 0;
};
// RocksDB puts per second through RocksStore::commit (one synced WriteBatch per batch, opened
// with the node's `options`) into a new database at `path`; 0 with `error` set on failure.
double rocksdb_puts_per_s(const std::string& path, const PutShape& shape, RocksOptions options, std::string& error);

// The malloc this process runs on: "jemalloc <version>" when jemalloc replaced the system's
// (the clearnode binary links it, see CMakeLists.txt), "system" otherwise.
std::string allocator_name();

}  // namespace clearnode::bench
