// The canonical binary encoding (RULES §6): fixed-width little-endian integers,
// length-prefixed bytes, fields in a fixed order, a version byte first. Signatures and hashes
// are computed over it; JSON is only a carrier.
#pragma once

#include "ledger/tx.hpp"

#include <array>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace clearnode {

constexpr uint8_t tx_encoding_version = 1;

class Writer {
public:
    Writer() = default;
    // Reserves `bytes_expected` up front: a record's encoding then grows its buffer once, not
    // once per doubling past the 15 bytes a string holds inline.
    explicit Writer(size_t bytes_expected) { out_.reserve(bytes_expected); }
    void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void u32(uint32_t v) { little_endian<4>(v); }
    void u64(uint64_t v) { little_endian<8>(v); }
    void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
    void varint(uint64_t v);  // unsigned LEB128, minimal: 7 bits a byte, low first, 1 to 10 bytes
    void raw(Bytes bytes) { out_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size()); }
    template <size_t N>
    void fixed(const std::array<uint8_t, N>& a) { raw(as_bytes(a)); }
    void bytes(std::string_view s);  // u32 length, then the bytes
    void short_bytes(std::string_view s);  // varint length, then the bytes (one length byte below 128)
    // Zigzag, then varint: 0, -1, 1, -2, ... as 0, 1, 2, 3, ..., so that small values of either
    // sign are short.
    void signed_varint(int64_t v);
    const std::string& data() const { return out_; }
    std::string take() { return std::move(out_); }

private:
    // The field is assembled on the stack and appended once: one capacity check a field, not
    // one a byte.
    template <size_t Bytes>
    void little_endian(uint64_t v) {
        std::array<char, Bytes> le;
        for (size_t i = 0; i < Bytes; ++i) le[i] = static_cast<char>(v >> (8 * i));
        out_.append(le.data(), Bytes);
    }
    std::string out_;
};

// Reads what Writer wrote; every read is bounds-checked and failure is sticky.
class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}
    uint8_t u8();
    uint32_t u32();
    uint64_t u64();
    int64_t i64() { return static_cast<int64_t>(u64()); }
    // Only the minimal encoding is accepted (no 0x80-padded forms, nothing beyond 64 bits), so
    // that one value has one encoding.
    uint64_t varint();
    template <size_t N>
    std::array<uint8_t, N> fixed() {
        std::array<uint8_t, N> a{};
        if (take(N)) std::memcpy(a.data(), in_.data() + pos_ - N, N);
        return a;
    }
    std::string bytes(size_t length_max);
    std::string short_bytes(size_t length_max);
    int64_t signed_varint();
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == in_.size(); }
    size_t remaining() const { return in_.size() - pos_; }
    void fail() { ok_ = false; }

private:
    bool take(size_t n);
    // The next `n` bytes, once a length prefix said `n`; fails past `length_max` or the end.
    std::string text_of_length(uint64_t n, size_t length_max);
    std::string_view in_;
    size_t pos_ = 0;
    bool ok_ = true;
};

std::string encode_tx(const Tx& tx, bool with_signature = true);
// The transaction, or nullopt for bytes that are not exactly one canonical transaction.
std::optional<Tx> decode_tx(std::string_view bytes);

// RULES §6: the digests that signatures cover, and the transaction's identity.
Hash32 tx_signing_digest(const Tx& tx, std::string_view chain_id);
Hash32 order_signing_digest(const MakerOrder& order, std::string_view market, std::string_view chain_id);
Hash32 tx_hash(const Tx& tx);

// RULES §11: BLAKE2b-256 over the header, the previous block's hash and the transactions'
// hashes.
Hash32 block_hash(const BlockHeader& header, const Hash32& previous_block_hash, std::span<const Hash32> tx_hashes);

// A whole block, as the node's block log keeps it: a version byte, height, time, the count,
// then each transaction's canonical encoding length-prefixed. Not hashed: the block's hash is
// block_hash() over its transactions' hashes.
constexpr uint8_t block_encoding_version = 1;
std::string encode_block(const Block& block);
// The block, or nullopt for bytes that are not exactly one encoded block.
std::optional<Block> decode_block(std::string_view bytes);

}  // namespace clearnode
