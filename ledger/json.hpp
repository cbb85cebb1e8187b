// JSON carriers (never the consensus form): transactions, block files and genesis.
// Errors name the field, so that a user can find the mistake in a file.
#pragma once

#include "ledger/genesis.hpp"
#include "ledger/tx.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace clearnode {

using Json = nlohmann::ordered_json;

template <typename T>
struct Parsed {
    std::optional<T> value;
    std::string error;  // "field: what is wrong", set when value is empty
    bool ok() const { return value.has_value(); }
};

enum class SigPolicy { required, optional };

// A transaction object of RULES §6. With SigPolicy::optional a missing `sig` (also the
// maker's) reads as all zeroes: that is how `clearnode sign` reads unsigned files.
Parsed<Tx> tx_from_json(const Json& j, SigPolicy policy = SigPolicy::required);
Json tx_to_json(const Tx& tx);

// The optional first line of a block file: {"block": {"height": H, "time_ms": T}}.
struct BlockFileHeader {
    std::optional<uint64_t> height;
    std::optional<int64_t> time_ms;
};

struct BlockFile {
    BlockFileHeader header;
    std::vector<Tx> txs;
};

// A whole JSON Lines block file; blank lines are skipped. The error names the line (1-based)
// and the field: "line 3: amount: must be a decimal string".
Parsed<BlockFile> block_file_from_text(std::string_view text, SigPolicy policy = SigPolicy::required);

Parsed<Genesis> genesis_from_json(const Json& j);
Json genesis_to_json(const Genesis& g);

std::string side_name(Side side);
std::string mode_name(MarginMode mode);

}  // namespace clearnode
