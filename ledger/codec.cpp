#include "ledger/codec.hpp"

#include "ledger/units.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <type_traits>

namespace clearnode {
namespace {

constexpr std::string_view tx_domain = "clearnode/tx/v1";
constexpr std::string_view order_domain = "clearnode/order/v1";
constexpr std::string_view block_domain = "clearnode/block/v1";
constexpr size_t decimal_text_max = 40;

bool is_symbol(std::string_view s) {
    if (s.empty() || s.size() > symbol_length_max) return false;
    for (char c : s) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

// --- one encoder and one decoder per field kind, so that both directions stay in step ---

void put(Writer& w, const DecimalText& d) { w.bytes(d.text); }
void put(Writer& w, const std::string& symbol) { w.bytes(symbol); }
void put(Writer& w, Side s) { w.u8(static_cast<uint8_t>(s)); }
void put(Writer& w, MarginMode m) { w.u8(static_cast<uint8_t>(m)); }

DecimalText get_decimal(Reader& r) {
    DecimalText d{r.bytes(decimal_text_max)};
    if (!is_decimal_text(d.text)) r.fail();
    return d;
}
std::string get_symbol(Reader& r) {
    std::string s = r.bytes(symbol_length_max);
    if (!is_symbol(s)) r.fail();
    return s;
}
Side get_side(Reader& r) {
    const uint8_t v = r.u8();
    if (v > 1) r.fail();
    return static_cast<Side>(v);
}
MarginMode get_mode(Reader& r) {
    const uint8_t v = r.u8();
    if (v > 1) r.fail();
    return static_cast<MarginMode>(v);
}
bool get_bool(Reader& r) {
    const uint8_t v = r.u8();
    if (v > 1) r.fail();
    return v == 1;
}
size_t get_list_size(Reader& r) {
    const uint32_t n = r.u32();
    if (n == 0 || n > tx_list_entries_max) r.fail();
    return r.ok() ? n : 0;
}

// The maker order's fields without its signature.
void put_order_fields(Writer& w, const MakerOrder& o) {
    w.fixed(o.account);
    put(w, o.side);
    put(w, o.size);
    put(w, o.limit);
    w.u8(o.reduce_only ? 1 : 0);
    w.u64(o.nonce);
}

void put_body(Writer& w, const Deposit& b) { w.fixed(b.account); put(w, b.amount); }
void put_body(Writer& w, const Withdraw& b) { put(w, b.amount); }
void put_body(Writer& w, const Transfer& b) { w.fixed(b.to); put(w, b.amount); }
void put_body(Writer& w, const SetLeverage& b) { put(w, b.market); w.u32(b.leverage); put(w, b.mode); }
void put_body(Writer& w, const TransferMargin& b) { put(w, b.market); put(w, b.amount); }
void put_body(Writer& w, const PriceUpdate& b) {
    w.u32(static_cast<uint32_t>(b.prices.size()));
    for (const auto& p : b.prices) { put(w, p.market); put(w, p.price); }
}
void put_body(Writer& w, const FundingUpdate& b) {
    w.u32(static_cast<uint32_t>(b.rates.size()));
    for (const auto& r : b.rates) { put(w, r.market); w.i64(r.rate_ppb); }
}
void put_body(Writer& w, const Open& b) {
    put(w, b.market);
    put(w, b.side);
    put(w, b.size);
    put(w, b.price);
    put_order_fields(w, b.maker);
    w.fixed(b.maker.sig);
}
void put_body(Writer& w, const Liquidate& b) { w.fixed(b.account); put(w, b.market); }
void put_body(Writer& w, const Adl& b) { w.fixed(b.account); put(w, b.market); }

TxBody get_body(Reader& r, uint8_t tag) {
    switch (tag) {
        case 0: { Deposit b; b.account = r.fixed<32>(); b.amount = get_decimal(r); return b; }
        case 1: { Withdraw b; b.amount = get_decimal(r); return b; }
        case 2: { Transfer b; b.to = r.fixed<32>(); b.amount = get_decimal(r); return b; }
        case 3: { SetLeverage b; b.market = get_symbol(r); b.leverage = r.u32(); b.mode = get_mode(r); return b; }
        case 4: { TransferMargin b; b.market = get_symbol(r); b.amount = get_decimal(r); return b; }
        case 5: {
            PriceUpdate b;
            const size_t n = get_list_size(r);
            for (size_t i = 0; i < n && r.ok(); ++i) b.prices.push_back({get_symbol(r), get_decimal(r)});
            return b;
        }
        case 6: {
            FundingUpdate b;
            const size_t n = get_list_size(r);
            for (size_t i = 0; i < n && r.ok(); ++i) {
                MarketRate rate;
                rate.market = get_symbol(r);
                rate.rate_ppb = r.i64();
                b.rates.push_back(std::move(rate));
            }
            return b;
        }
        case 7: {
            Open b;
            b.market = get_symbol(r);
            b.side = get_side(r);
            b.size = get_decimal(r);
            b.price = get_decimal(r);
            b.maker.account = r.fixed<32>();
            b.maker.side = get_side(r);
            b.maker.size = get_decimal(r);
            b.maker.limit = get_decimal(r);
            b.maker.reduce_only = get_bool(r);
            b.maker.nonce = r.u64();
            b.maker.sig = r.fixed<64>();
            return b;
        }
        case 8: { Liquidate b; b.account = r.fixed<32>(); b.market = get_symbol(r); return b; }
        case 9: { Adl b; b.account = r.fixed<32>(); b.market = get_symbol(r); return b; }
        default: r.fail(); return Deposit{};
    }
}

void put_tx(Writer& w, const Tx& tx, bool with_signature) {
    w.u8(tx_encoding_version);
    w.u8(static_cast<uint8_t>(tx.body.index()));
    w.fixed(tx.signer);
    w.u64(tx.nonce);
    std::visit([&](const auto& body) { put_body(w, body); }, tx.body);
    if (with_signature) w.fixed(tx.sig);
}

void put_domain_and_chain(Hasher& h, std::string_view domain, std::string_view chain_id) {
    Writer w;
    w.raw(as_bytes(domain));
    w.bytes(chain_id);
    h.update(w.data());
}

}  // namespace

// Appended once, like the fixed-width fields (codec.hpp).
void Writer::varint(uint64_t v) {
    if (v < 0x80) return u8(static_cast<uint8_t>(v));  // most: the gaps of a nonce window
    constexpr size_t bytes_max = 10;
    std::array<char, bytes_max> leb;
    for (size_t i = 0; i < bytes_max; ++i) {
        if (v < 0x80) {
            leb[i] = static_cast<char>(v);
            out_.append(leb.data(), i + 1);
            return;
        }
        leb[i] = static_cast<char>(v | 0x80);
        v >>= 7;
    }
    assert(false && "a u64 takes at most 10 LEB128 bytes");
}
void Writer::bytes(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s);
}

bool Reader::take(size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
        ok_ = false;
        return false;
    }
    pos_ += n;
    return true;
}
uint8_t Reader::u8() { return take(1) ? static_cast<uint8_t>(in_[pos_ - 1]) : 0; }
uint32_t Reader::u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(u8()) << (8 * i);
    return ok_ ? v : 0;
}
uint64_t Reader::u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(u8()) << (8 * i);
    return ok_ ? v : 0;
}
uint64_t Reader::varint() {
    constexpr size_t bytes_max = 10;  // ceil(64 / 7)
    uint64_t v = 0;
    for (size_t i = 0; i < bytes_max; ++i) {
        const uint8_t byte = u8();
        if (!ok_) return 0;
        const uint64_t bits = byte & 0x7f;
        // The 10th byte holds bit 63 only; a zero last byte after the first is padding.
        const bool last = (byte & 0x80) == 0;
        if ((i == bytes_max - 1 && byte > 1) || (last && i > 0 && byte == 0)) break;
        v |= bits << (7 * i);
        if (last) return v;
    }
    ok_ = false;
    return 0;
}
void Writer::short_bytes(std::string_view s) {
    varint(s.size());
    out_.append(s);
}

void Writer::signed_varint(int64_t v) { varint((static_cast<uint64_t>(v) << 1) ^ (v < 0 ? ~uint64_t{0} : 0)); }

std::string Reader::short_bytes(size_t length_max) {
    const uint64_t n = varint();
    return text_of_length(n, length_max);
}

int64_t Reader::signed_varint() {
    const uint64_t v = varint();
    return static_cast<int64_t>((v >> 1) ^ (uint64_t{0} - (v & 1)));
}

std::string Reader::bytes(size_t length_max) {
    const uint32_t n = u32();
    return text_of_length(n, length_max);
}

std::string Reader::text_of_length(uint64_t n, size_t length_max) {
    if (!ok_ || n > length_max) {
        ok_ = false;
        return {};
    }
    if (!take(n)) return {};
    return std::string(in_.substr(pos_ - n, n));
}

const char* tx_type_name(const TxBody& body) {
    static constexpr const char* names[] = {"deposit", "withdraw", "transfer", "set_leverage", "transfer_margin",
                                            "price", "funding", "open", "liquidate", "adl"};
    static_assert(std::size(names) == std::variant_size_v<TxBody>);
    return names[body.index()];
}

// An open with its maker order, the largest common transaction, takes about 250 bytes.
constexpr size_t tx_bytes_expected = 256;

std::string encode_tx(const Tx& tx, bool with_signature) {
    Writer w(tx_bytes_expected);
    put_tx(w, tx, with_signature);
    return w.take();
}

std::optional<Tx> decode_tx(std::string_view bytes) {
    Reader r(bytes);
    if (r.u8() != tx_encoding_version) return std::nullopt;
    const uint8_t tag = r.u8();
    Tx tx;
    tx.signer = r.fixed<32>();
    tx.nonce = r.u64();
    if (!r.ok()) return std::nullopt;
    tx.body = get_body(r, tag);
    tx.sig = r.fixed<64>();
    if (!r.ok() || !r.at_end()) return std::nullopt;
    return tx;
}

Hash32 tx_signing_digest(const Tx& tx, std::string_view chain_id) {
    Hasher h;
    put_domain_and_chain(h, tx_domain, chain_id);
    h.update(encode_tx(tx, false));
    return h.finish();
}

Hash32 order_signing_digest(const MakerOrder& order, std::string_view market, std::string_view chain_id) {
    Hasher h;
    put_domain_and_chain(h, order_domain, chain_id);
    Writer w;
    w.u8(tx_encoding_version);
    put(w, std::string(market));
    put_order_fields(w, order);
    h.update(w.data());
    return h.finish();
}

Hash32 tx_hash(const Tx& tx) { return blake2b_256(as_bytes(encode_tx(tx, true))); }

Hash32 block_hash(const BlockHeader& header, const Hash32& previous_block_hash, std::span<const Hash32> tx_hashes) {
    Writer w;
    w.raw(as_bytes(block_domain));
    w.u64(header.height);
    w.i64(header.time_ms);
    w.fixed(previous_block_hash);
    w.u32(static_cast<uint32_t>(tx_hashes.size()));
    Hasher h;
    h.update(w.data());
    for (const auto& th : tx_hashes) h.update(as_bytes(th));
    return h.finish();
}

std::string encode_block(const Block& block) {
    assert(block.txs.size() <= block_txs_max);
    Writer w;
    w.u8(block_encoding_version);
    w.u64(block.header.height);
    w.i64(block.header.time_ms);
    w.u32(static_cast<uint32_t>(block.txs.size()));
    for (const auto& tx : block.txs) w.bytes(encode_tx(tx, true));
    return w.take();
}

std::optional<Block> decode_block(std::string_view bytes) {
    // A transaction's encoding is bounded by its lists: 64 entries of a few dozen bytes.
    constexpr size_t tx_bytes_max = 1 << 16;
    Reader r(bytes);
    if (r.u8() != block_encoding_version) return std::nullopt;
    Block block;
    block.header.height = r.u64();
    block.header.time_ms = r.i64();
    const uint32_t count = r.u32();
    if (!r.ok() || count > block_txs_max) return std::nullopt;
    block.txs.reserve(std::min<size_t>(count, bytes.size() / 8));
    for (uint32_t i = 0; i < count; ++i) {
        const std::string encoded = r.bytes(tx_bytes_max);
        if (!r.ok()) return std::nullopt;
        auto tx = decode_tx(encoded);
        if (!tx) return std::nullopt;
        block.txs.push_back(std::move(*tx));
    }
    if (!r.at_end()) return std::nullopt;
    return block;
}

}  // namespace clearnode
