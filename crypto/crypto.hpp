// The only door to libsodium: Ed25519 keys, signatures (also verified in parallel) and
// BLAKE2b-256; and to the two OpenSSL primitives the state root's leaves are made with
// (SHA-256, ChaCha20). Value types are fixed-size byte arrays so that they compare, sort and hash
// the same way on every machine.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace clearnode {

using PublicKey = std::array<uint8_t, 32>;
using SecretKey = std::array<uint8_t, 64>;  // libsodium's seed || public key
using Signature = std::array<uint8_t, 64>;
using Hash32 = std::array<uint8_t, 32>;

using Bytes = std::span<const uint8_t>;
inline Bytes as_bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }
template <size_t N>
Bytes as_bytes(const std::array<uint8_t, N>& a) { return {a.data(), a.size()}; }

// Hex text (lowercase); from_hex accepts either case and fails on any other length or digit.
std::string to_hex(Bytes bytes);
// Appends lowercase hex, two digits a byte, to `out` (to_hex without a string of its own).
void append_hex(std::string& out, Bytes bytes);
template <size_t N>
std::string to_hex(const std::array<uint8_t, N>& a) { return to_hex(as_bytes(a)); }
template <size_t N>
std::optional<std::array<uint8_t, N>> from_hex(std::string_view text);

struct KeyPair {
    PublicKey public_key;
    SecretKey secret_key;
};

// A new key pair from the operating system's random source (node use only; never in
// consensus code).
KeyPair generate_keypair();
// The key pair of a 32-byte seed: deterministic, for tests, fixtures and benchmarks.
KeyPair keypair_from_seed(const std::array<uint8_t, 32>& seed);
// True when the secret key's embedded public key is `public_key` and the pair signs.
bool keypair_matches(const KeyPair& pair);

Signature sign(const SecretKey& secret_key, Bytes message);
bool verify(const PublicKey& public_key, Bytes message, const Signature& signature);

struct SignedMessage {
    PublicKey public_key;
    Hash32 digest;  // everything clearnode signs is a 32-byte digest
    Signature signature;
};

class WorkerPool;
// One result per message (1: valid), in the messages' order, computed on `pool`'s workers and
// the calling thread. The result does not depend on the number of workers.
std::vector<uint8_t> verify_batch(std::span<const SignedMessage> messages, WorkerPool& pool);

Hash32 blake2b_256(Bytes data);

// Incremental BLAKE2b-256 over several parts, so that callers never concatenate buffers.
class Hasher {
public:
    Hasher();
    Hasher& update(Bytes data);
    Hasher& update(std::string_view text) { return update(as_bytes(text)); }
    Hash32 finish();

private:
    alignas(64) std::array<uint8_t, 384> state_;  // crypto_generichash_state, opaque here
};

}  // namespace clearnode

namespace clearnode {
// SHA-256 (FIPS 180-4) of the concatenation of `parts`, hashed in place. OpenSSL's, not
// libsodium's: it uses the CPU's SHA extensions where there are some. Thread-safe (a context per
// thread). Only the state root's leaf seeds use it; RULES §6 and §11 fix BLAKE2b-256 for
// transaction and block hashes.
Hash32 sha256(std::initializer_list<Bytes> parts);

// Expands a 32-byte seed into `out.size()` pseudo-random bytes: the ChaCha20 keystream (RFC 8439,
// block counter 0, zero nonce) keyed by the seed, the extendable output the state commitment's
// lattice hash needs. Thread-safe (a context per thread).
void expand_seed(const Hash32& seed, std::span<uint8_t> out);
}  // namespace clearnode

namespace clearnode {
// A keyed 64-bit hash (SipHash-2-4) for hash tables whose keys an attacker chooses (account
// ids): with a key drawn at random per table, colliding keys cannot be ground offline. Only
// for lookups: nothing derived from it may reach state, a root or output.
class ShortHasher {
public:
    ShortHasher();  // a fresh random key
    uint64_t operator()(Bytes data) const;

private:
    std::array<uint8_t, 16> key_;
};
}  // namespace clearnode
