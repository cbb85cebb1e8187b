#include "node/blocklog.hpp"

#include "ledger/codec.hpp"

namespace clearnode::cli {
namespace {

std::string be64(uint64_t v) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[static_cast<size_t>(7 - i)] = static_cast<char>(v >> (8 * i));
    return out;
}

}  // namespace

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

WriteSet block_log_writes(const Block& block, const BlockResult& result, std::string receipt_lines) {
    WriteSet writes;
    const uint64_t height = block.header.height;
    writes[logkeys::block(height)] = encode_block(block);
    Writer meta;
    meta.fixed(result.block_hash);
    meta.fixed(result.state_root);
    writes[logkeys::meta(height)] = meta.take();
    writes[logkeys::receipts(height)] = std::move(receipt_lines);
    for (const auto& receipt : result.receipts) {
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
