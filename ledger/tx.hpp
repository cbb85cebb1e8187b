// Transactions and blocks of RULES §6 and §11: one struct per transaction type.
//
// Amounts, sizes and prices travel as the exact decimal text that was signed. Their unit
// depends on the market (a size has `size_decimals`), and "too many decimals" or "beyond
// int64" are rule rejections with a receipt (RULES §6 `bad_amount`, `overflow`), so the
// engine, not the decoder, turns text into units.
#pragma once

#include "crypto/crypto.hpp"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace clearnode {

using AccountId = PublicKey;

// Validated decimal text ("-?[0-9]+(\.[0-9]+)?", at most 40 characters).
struct DecimalText {
    std::string text;
    bool operator==(const DecimalText&) const = default;
};

enum class Side : uint8_t { buy = 0, sell = 1 };
enum class MarginMode : uint8_t { cross = 0, isolated = 1 };

// Limits that bound every loop over a transaction's lists.
constexpr size_t symbol_length_max = 16;
constexpr size_t tx_list_entries_max = 64;
constexpr size_t block_txs_max = 1'000'000;

struct Deposit {
    AccountId account{};
    DecimalText amount;
};
struct Withdraw {
    DecimalText amount;
};
struct Transfer {
    AccountId to{};
    DecimalText amount;
};
struct SetLeverage {
    std::string market;
    uint32_t leverage = 0;
    MarginMode mode = MarginMode::cross;
};
struct TransferMargin {
    std::string market;
    DecimalText amount;  // signed: + into the isolated position, - out of it
};
struct MarketPrice {
    std::string market;
    DecimalText price;
};
struct PriceUpdate {
    std::vector<MarketPrice> prices;
};
struct MarketRate {
    std::string market;
    int64_t rate_ppb = 0;
};
struct FundingUpdate {
    std::vector<MarketRate> rates;
};
// A maker's signed resting order (RULES §7). The signature also covers the envelope's
// market, so that an order signed for one market can never fill on another.
struct MakerOrder {
    AccountId account{};
    Side side = Side::sell;
    DecimalText size;
    DecimalText limit;
    bool reduce_only = false;
    uint64_t nonce = 0;
    Signature sig{};
};
struct Open {
    std::string market;
    Side side = Side::buy;
    DecimalText size;
    DecimalText price;
    MakerOrder maker;
};
struct Liquidate {
    AccountId account{};
    std::string market;
};
struct Adl {
    AccountId account{};
    std::string market;
};

// The variant's index is the type tag of the canonical encoding: append, never reorder.
using TxBody = std::variant<Deposit, Withdraw, Transfer, SetLeverage, TransferMargin,
                            PriceUpdate, FundingUpdate, Open, Liquidate, Adl>;

struct Tx {
    AccountId signer{};
    uint64_t nonce = 0;
    TxBody body;
    Signature sig{};
};

// The JSON "type" name of a body.
const char* tx_type_name(const TxBody& body);

struct BlockHeader {
    uint64_t height = 0;
    int64_t time_ms = 0;
};

struct Block {
    BlockHeader header;
    std::vector<Tx> txs;
};

}  // namespace clearnode
