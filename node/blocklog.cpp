#include "node/blocklog.hpp"

#include "ledger/codec.hpp"
#include "node/output.hpp"

#include <cassert>

namespace clearnode::cli {
namespace {

std::string be64(uint64_t v) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[static_cast<size_t>(7 - i)] = static_cast<char>(v >> (8 * i));
    return out;
}

enum class ValueKind : uint8_t { text, id, units };

void write_value(Writer& w, const EventValue& value) {
    if (const std::string* text = value.as_text()) {
        w.u8(static_cast<uint8_t>(ValueKind::text));
        w.short_bytes(*text);
    } else if (const PublicKey* id = value.as_id()) {
        w.u8(static_cast<uint8_t>(ValueKind::id));
        w.fixed(*id);
    } else {
        const EventValue::Units* amount = value.as_units();
        assert(amount && amount->decimals >= 0 && amount->decimals <= 18);
        w.u8(static_cast<uint8_t>(ValueKind::units));
        w.varint(static_cast<uint64_t>(amount->decimals));
        w.signed_varint(amount->value);
    }
}

void write_receipt(Writer& w, const Receipt& receipt) {
    w.varint(receipt.index);
    w.fixed(receipt.tx_hash);
    w.u8(static_cast<uint8_t>(receipt.status));
    w.varint(receipt.events.size());
    for (const Event& event : receipt.events) {
        w.short_bytes(event.kind);
        w.varint(event.fields.size());
        for (const auto& [name, value] : event.fields) {
            w.short_bytes(name);
            write_value(w, value);
        }
    }
}

// A count or a length, which cannot exceed the bytes left (every element takes one or more).
uint64_t read_count(Reader& r) {
    const uint64_t n = r.varint();
    if (n > r.remaining()) r.fail();
    return r.ok() ? n : 0;
}

// Text of any length the value can hold (each read is bounds-checked).
std::string read_text(Reader& r) { return r.short_bytes(r.remaining()); }

std::optional<EventValue> read_value(Reader& r) {
    switch (static_cast<ValueKind>(r.u8())) {
    case ValueKind::text: return EventValue(read_text(r));
    case ValueKind::id: return EventValue(PublicKey(r.fixed<32>()));
    case ValueKind::units: {
        const uint64_t decimals = r.varint();
        const int64_t units = r.signed_varint();
        if (decimals > 18) return std::nullopt;
        return EventValue(EventValue::Units{units, static_cast<int>(decimals)});
    }
    }
    return std::nullopt;
}

std::optional<Receipt> read_receipt(Reader& r) {
    Receipt receipt;
    const uint64_t index = r.varint();
    if (index > UINT32_MAX) return std::nullopt;
    receipt.index = static_cast<uint32_t>(index);
    receipt.tx_hash = r.fixed<32>();
    const uint8_t status = r.u8();
    if (status > static_cast<uint8_t>(reason_last)) return std::nullopt;
    receipt.status = static_cast<Reason>(status);
    const uint64_t events = read_count(r);
    for (uint64_t e = 0; e < events && r.ok(); ++e) {
        Event& event = receipt.events.emplace_back(read_text(r));
        const uint64_t fields = read_count(r);
        for (uint64_t f = 0; f < fields && r.ok(); ++f) {
            std::string name = read_text(r);
            auto value = read_value(r);
            if (!value) return std::nullopt;
            event.with(std::move(name), std::move(*value));
        }
    }
    if (!r.ok()) return std::nullopt;
    return receipt;
}

}  // namespace

std::string encode_logged_receipts(const BlockResult& result, std::string_view extra_lines) {
    // A hint, so that a block's megabytes are not regrown by doubling: 223 bytes a receipt on
    // average for the bench's opens and transfers (README, "bench").
    constexpr size_t receipt_bytes_expected = 256;
    Writer w(1 + result.receipts.size() * receipt_bytes_expected + extra_lines.size());
    w.u8(static_cast<uint8_t>(receipts_format_binary));
    w.varint(result.receipts.size());
    for (const Receipt& receipt : result.receipts) write_receipt(w, receipt);
    w.short_bytes(extra_lines);
    return w.take();
}

std::string logged_receipt_text(std::string_view value, uint64_t height) {
    if (value.empty() || value[0] != receipts_format_binary) return std::string(value);
    const auto corrupt = [height] { return StorageError("corrupt receipts at height " + std::to_string(height)); };
    Reader r(value.substr(1));
    std::string text;
    const uint64_t receipts = read_count(r);
    for (uint64_t i = 0; i < receipts; ++i) {
        const auto receipt = read_receipt(r);
        if (!receipt) throw corrupt();
        try {
            text += receipt_line(height, *receipt);
        } catch (const Json::exception&) {  // text that is not UTF-8, which the engine never writes
            throw corrupt();
        }
        text += '\n';
    }
    text += read_text(r);
    if (!r.ok() || !r.at_end()) throw corrupt();
    return text;
}

namespace logkeys {
std::string block(uint64_t height) { return std::string(block_prefix) + be64(height); }
std::string meta(uint64_t height) { return "~meta/" + be64(height); }
std::string receipts(uint64_t height) { return std::string(receipts_prefix) + be64(height); }
std::vector<std::string> family_prefixes() {
    return {std::string(1, bookkeeping_key_prefix), std::string(block_prefix), std::string(receipts_prefix)};
}
std::string tx(const Hash32& tx_hash) { return "~tx/" + std::string(reinterpret_cast<const char*>(tx_hash.data()), tx_hash.size()); }
std::string inbox(std::string_view file_name) { return std::string(inbox_prefix) + std::string(file_name); }
}  // namespace logkeys

std::string encode_u64(uint64_t v) {
    Writer w;
    w.u64(v);
    return w.take();
}

uint64_t decode_u64(std::string_view bytes, std::string_view what) {
    Reader r(bytes);
    const uint64_t v = r.u64();
    if (!r.ok() || !r.at_end()) throw StorageError("corrupt " + std::string(what));
    return v;
}

std::optional<Block> load_logged_block(const StateReader& s, uint64_t height) {
    const auto bytes = s.get(logkeys::block(height));
    if (!bytes) return std::nullopt;
    auto block = decode_block(*bytes);
    if (!block || block->header.height != height)
        throw StorageError("corrupt block log entry at height " + std::to_string(height));
    return block;
}

std::optional<BlockMeta> load_meta(const StateReader& s, uint64_t height) {
    const auto bytes = s.get(logkeys::meta(height));
    if (!bytes) return std::nullopt;
    Reader r(*bytes);
    BlockMeta meta{r.fixed<32>(), r.fixed<32>()};
    if (!r.ok() || !r.at_end()) throw StorageError("corrupt block meta at height " + std::to_string(height));
    return meta;
}

std::optional<TxLocation> find_tx(const StateReader& s, const Hash32& tx_hash) {
    const auto bytes = s.get(logkeys::tx(tx_hash));
    if (!bytes) return std::nullopt;
    Reader r(*bytes);
    TxLocation at{r.u64(), r.u32()};
    if (!r.ok() || !r.at_end()) throw StorageError("corrupt transaction index entry");
    return at;
}

std::optional<uint64_t> inbox_progress(const StateReader& s, std::string_view file_name) {
    const auto bytes = s.get(logkeys::inbox(file_name));
    if (!bytes) return std::nullopt;
    return decode_u64(*bytes, "inbox progress entry");
}

uint64_t base_height(const StateReader& s) {
    const auto bytes = s.get(logkeys::base);
    return bytes ? decode_u64(*bytes, "base height entry") : 0;
}

WriteSet block_log_writes(const Block& block, const BlockResult& result, std::string_view extra_lines) {
    WriteSet writes;
    const uint64_t height = block.header.height;
    writes[logkeys::block(height)] = encode_block(block);
    Writer meta;
    meta.fixed(result.block_hash);
    meta.fixed(result.state_root);
    writes[logkeys::meta(height)] = meta.take();
    writes[logkeys::receipts(height)] = encode_logged_receipts(result, extra_lines);
    // Only what the nonce window does not refuse already: a transaction that spent its
    // signer's nonce can never pass the nonce check again, so indexing it would cost a random
    // key for each transaction (most of the log's CPU, docs/DESIGN.md) to refuse it under
    // another name.
    for (const auto& receipt : result.receipts) {
        if (spends_nonce(receipt.status)) continue;
        Writer at;
        at.u64(height);
        at.u32(receipt.index);
        writes[logkeys::tx(receipt.tx_hash)] = at.take();
    }
    return writes;
}

std::string check_log_head(const StateReader& s, const Engine& engine) {
    const uint64_t height = engine.height();
    if (height == base_height(s)) return {};
    if (!s.get(logkeys::block(height))) return "the block log has no block at the state's height " + std::to_string(height);
    const auto meta = load_meta(s, height);
    if (!meta) return "the block log has no root for the state's height " + std::to_string(height);
    if (meta->state_root != engine.state_root())
        return "the state root at height " + std::to_string(height) + " differs from the one the node published (" +
               to_hex(meta->state_root) + ")";
    if (meta->block_hash != engine.last_block_hash())
        return "the last block hash at height " + std::to_string(height) + " differs from the block log's";
    return {};
}

}  // namespace clearnode::cli
