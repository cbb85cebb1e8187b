// Target 1: the carriers. The first byte picks one: the canonical binary decoder, the JSON
// transaction carrier, a whole JSON Lines block file, or a state record's decoder (a corrupt
// database is input too). Whatever a decoder accepts must round-trip exactly (binary -> Tx ->
// binary is the identity; JSON -> Tx -> JSON -> Tx gives the same canonical bytes; a record
// decodes only from the encoding of what it decodes to, since the root's removal leaf is
// computed from the re-encoding), and no input may crash, throw or read out of bounds.
#include "fuzz_common.hpp"
#include "ledger/codec.hpp"
#include "ledger/json.hpp"
#include "state/records.hpp"

#include <cstdint>
#include <string_view>

using namespace clearnode;
using clearnode::fuzz::require;

namespace {

// tx -> JSON text -> tx must give the same canonical bytes, and so must binary -> tx.
void check_round_trips(const Tx& tx) {
    const std::string canonical = encode_tx(tx);
    const auto from_binary = decode_tx(canonical);
    require(from_binary.has_value(), "decode_tx refuses what encode_tx wrote");
    require(encode_tx(*from_binary) == canonical, "binary round trip changed the transaction");
    const std::string text = tx_to_json(tx).dump();
    const Json reparsed = Json::parse(text, nullptr, false);
    require(!reparsed.is_discarded(), "tx_to_json wrote text that is not JSON: " + text);
    const auto from_json = tx_from_json(reparsed);
    require(from_json.ok(), "tx_from_json refuses what tx_to_json wrote: " + from_json.error + " in " + text);
    require(encode_tx(*from_json.value) == canonical, "JSON round trip changed the transaction: " + text);
}

// A record decoder accepts only the encoding of what it returns; refusals are StorageError.
template <typename Decode>
void check_record(std::string_view bytes, Decode decode) {
    try {
        const auto record = decode(bytes);
        require(encode(record) == bytes, "a record decoder accepted bytes that are not the canonical encoding");
    } catch (const StorageError&) {
    }
}

void check_state_record(std::string_view input) {
    if (input.empty()) return;
    const std::string_view bytes = input.substr(1);
    switch (static_cast<uint8_t>(input[0]) % 6) {
        case 0: return check_record(bytes, decode_account);
        case 1: return check_record(bytes, decode_nonces);
        case 2: return check_record(bytes, decode_market);
        case 3: return check_record(bytes, decode_protocol);
        case 4: return check_record(bytes, decode_chain);
        default: return check_record(bytes, decode_config);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (data[0] % 4) {
        case 0: {
            const auto tx = decode_tx(input);
            if (!tx) return 0;
            require(encode_tx(*tx) == input, "decode_tx accepted bytes that are not the canonical encoding");
            check_round_trips(*tx);
            return 0;
        }
        case 1: {
            const Json j = Json::parse(input, nullptr, false);
            if (j.is_discarded()) return 0;
            for (auto policy : {SigPolicy::required, SigPolicy::optional}) {
                const auto tx = tx_from_json(j, policy);
                if (tx.ok()) check_round_trips(*tx.value);
                else require(!tx.error.empty(), "a refusal without a message");
            }
            return 0;
        }
        case 3: check_state_record(input); return 0;
        default: {
            const auto file = block_file_from_text(input);
            if (!file.ok()) {
                require(!file.error.empty(), "a refused block file without a message");
                return 0;
            }
            for (const auto& tx : file.value->txs) check_round_trips(tx);
            return 0;
        }
    }
}
