// The node's block log and its indexes, kept in the store under bookkeeping keys ('~',
// outside the state root) and written in the same atomic commit as the block's state, so
// that a crash can never leave the log and the state disagreeing.
//
//   key                         value
//   "~block/" height(be64)      the block, ledger encode_block()
//   "~meta/" height(be64)       block hash(32) | state root(32): what the node published
//   "~receipts/" height(be64)   the block's receipts, binary (below), and the node's own lines
//   "~tx/" hash(32)             height u64 | index u32: the transaction is committed and spent
//                               no nonce (refused before the rules: clearing's spends_nonce)
//   "~inbox/" file name         u64: how many of the file's transactions have a receipt
//   "~base"                     height u64: the snapshot the node started from (absent: genesis)
//
// Heights are big-endian in keys so that a scan runs in height order. A home written before
// 2026-12-03 holds a "~tx/" entry for every committed transaction; admission reads it alike.
#pragma once

#include "clearing/engine.hpp"
#include "crypto/crypto.hpp"
#include "ledger/tx.hpp"
#include "state/store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace clearnode::cli {

namespace logkeys {
std::string block(uint64_t height);
std::string meta(uint64_t height);
std::string receipts(uint64_t height);
std::string tx(const Hash32& tx_hash);
std::string inbox(std::string_view file_name);
constexpr std::string_view block_prefix = "~block/";
constexpr std::string_view receipts_prefix = "~receipts/";
constexpr std::string_view inbox_prefix = "~inbox/";
constexpr std::string_view base = "~base";
// The store's column families for the log (RocksOptions::family_prefixes): one for the
// bookkeeping keys, apart from the state, and one each for the blocks and the receipts, the
// megabytes a block, whose keys arrive in height order: their table files never overlap, so
// compaction moves them down the levels rather than rewriting them among the indexes' keys.
std::vector<std::string> family_prefixes();
}  // namespace logkeys

struct BlockMeta {
    Hash32 block_hash{};
    Hash32 state_root{};
};

struct TxLocation {
    uint64_t height = 0;
    uint32_t index = 0;
};

std::string encode_u64(uint64_t v);
// Reads a u64 value; throws StorageError when the bytes are not one.
uint64_t decode_u64(std::string_view bytes, std::string_view what);

// Reads of the log. A value that does not decode is a corrupt store: these throw StorageError.
std::optional<Block> load_logged_block(const StateReader& s, uint64_t height);
std::optional<BlockMeta> load_meta(const StateReader& s, uint64_t height);
std::optional<TxLocation> find_tx(const StateReader& s, const Hash32& tx_hash);
std::optional<uint64_t> inbox_progress(const StateReader& s, std::string_view file_name);
uint64_t base_height(const StateReader& s);

// A "~receipts/" value: receipts_format_binary, then
//   varint n, n receipts: varint index, tx hash(32), u8 status, varint n, n events:
//     text kind, varint n, n fields: text name, u8 kind of value, value:
//       text | id: 32 bytes | amount: varint decimals, zigzag varint units
//   text: the lines the node adds after the receipts (admission rejections)
// where text is varint length, bytes. Ids in binary and amounts unformatted, half the bytes of
// the JSON: the log is most of what a block writes (README, "bench"; docs/DESIGN.md, "The block
// log lives in the store"). A home written before 2026-12-03 holds the JSON Lines themselves,
// which never start with this byte.
constexpr char receipts_format_binary = '\x01';
std::string encode_logged_receipts(const BlockResult& result, std::string_view extra_lines);
// The JSON Lines a value holds or encodes: receipt_line for each receipt, then the extra
// lines; a value of a home written before, as it is. Throws StorageError for a value that is
// neither.
std::string logged_receipt_text(std::string_view value, uint64_t height);

// The log's writes for one block: the block, its meta, its receipts (with `extra_lines` after
// them) and the tx index.
WriteSet block_log_writes(const Block& block, const BlockResult& result, std::string_view extra_lines = {});

// Empty when the log agrees with the committed chain at its height (the block and its meta
// are there, and the meta matches the engine's block hash and state root); else what is wrong.
std::string check_log_head(const StateReader& s, const Engine& engine);

}  // namespace clearnode::cli
