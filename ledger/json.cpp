#include "ledger/json.hpp"

#include "ledger/units.hpp"

#include <limits>

namespace clearnode {
namespace {

// Thrown inside this file only, caught at each public function and turned into Parsed::error.
struct FieldError {
    std::string message;
};

[[noreturn]] void fail(std::string_view field, std::string_view what) {
    throw FieldError{std::string(field) + ": " + std::string(what)};
}

const Json& field(const Json& j, const char* name) {
    auto it = j.find(name);
    if (it == j.end()) fail(name, "missing");
    return *it;
}

template <size_t N>
std::array<uint8_t, N> hex_field(const Json& j, const char* name) {
    const Json& v = field(j, name);
    if (!v.is_string()) fail(name, "must be a hex string");
    auto bytes = from_hex<N>(v.get<std::string>());
    if (!bytes) fail(name, "must be " + std::to_string(2 * N) + " hex digits");
    return *bytes;
}

Signature sig_field(const Json& j, SigPolicy policy) {
    if (policy == SigPolicy::optional && !j.contains("sig")) return Signature{};
    return hex_field<64>(j, "sig");
}

DecimalText decimal_field(const Json& j, const char* name) {
    const Json& v = field(j, name);
    if (!v.is_string()) fail(name, "must be a decimal string such as \"12.5\"");
    std::string text = v.get<std::string>();
    if (!is_decimal_text(text)) fail(name, "must be a decimal string such as \"12.5\"");
    return DecimalText{std::move(text)};
}

template <typename Int>
Int int_field(const Json& j, const char* name) {
    const Json& v = field(j, name);
    if (!v.is_number_integer()) fail(name, "must be an integer");
    if constexpr (std::is_unsigned_v<Int>) {
        if (v.is_number_unsigned()) {
            const auto u = v.get<uint64_t>();
            if (u > std::numeric_limits<Int>::max()) fail(name, "out of range");
            return static_cast<Int>(u);
        }
        const auto s = v.get<int64_t>();
        if (s < 0 || static_cast<uint64_t>(s) > std::numeric_limits<Int>::max()) fail(name, "out of range");
        return static_cast<Int>(s);
    } else {
        if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<Int>::max()))
            fail(name, "out of range");
        const auto s = v.get<int64_t>();
        if (s < std::numeric_limits<Int>::min() || s > std::numeric_limits<Int>::max()) fail(name, "out of range");
        return static_cast<Int>(s);
    }
}

std::string string_field(const Json& j, const char* name) {
    const Json& v = field(j, name);
    if (!v.is_string()) fail(name, "must be a string");
    return v.get<std::string>();
}

std::string symbol_field(const Json& j, const char* name) {
    std::string s = string_field(j, name);
    if (s.empty() || s.size() > symbol_length_max) fail(name, "must be a market symbol of 1 to 16 characters");
    for (char c : s)
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            fail(name, "must be a market symbol (A-Z, 0-9, '-', '_')");
    return s;
}

bool bool_field(const Json& j, const char* name) {
    const Json& v = field(j, name);
    if (!v.is_boolean()) fail(name, "must be true or false");
    return v.get<bool>();
}

Side side_field(const Json& j, const char* name) {
    const std::string s = string_field(j, name);
    if (s == "buy") return Side::buy;
    if (s == "sell") return Side::sell;
    fail(name, "must be \"buy\" or \"sell\"");
}

MarginMode mode_field(const Json& j, const char* name) {
    const std::string s = string_field(j, name);
    if (s == "cross") return MarginMode::cross;
    if (s == "isolated") return MarginMode::isolated;
    fail(name, "must be \"cross\" or \"isolated\"");
}

const Json& list_field(const Json& j, const char* name) {
    const Json& v = field(j, name);
    if (!v.is_array() || v.empty() || v.size() > tx_list_entries_max) fail(name, "must be a list of 1 to 64 entries");
    for (const auto& e : v)
        if (!e.is_object()) fail(name, "every entry must be an object");
    return v;
}

MakerOrder maker_from_json(const Json& j, SigPolicy policy) {
    if (!j.is_object()) fail("maker", "must be an object");
    try {
        MakerOrder o;
        o.account = hex_field<32>(j, "account");
        o.side = side_field(j, "side");
        o.size = decimal_field(j, "size");
        o.limit = decimal_field(j, "limit");
        o.reduce_only = bool_field(j, "reduce_only");
        o.nonce = int_field<uint64_t>(j, "nonce");
        o.sig = sig_field(j, policy);
        return o;
    } catch (const FieldError& e) {
        throw FieldError{"maker." + e.message};
    }
}

TxBody body_from_json(const std::string& type, const Json& j, SigPolicy policy) {
    if (type == "deposit") return Deposit{hex_field<32>(j, "account"), decimal_field(j, "amount")};
    if (type == "withdraw") return Withdraw{decimal_field(j, "amount")};
    if (type == "transfer") return Transfer{hex_field<32>(j, "to"), decimal_field(j, "amount")};
    if (type == "set_leverage")
        return SetLeverage{symbol_field(j, "market"), int_field<uint32_t>(j, "leverage"), mode_field(j, "mode")};
    if (type == "transfer_margin") return TransferMargin{symbol_field(j, "market"), decimal_field(j, "amount")};
    if (type == "price") {
        PriceUpdate b;
        for (const auto& e : list_field(j, "prices")) b.prices.push_back({symbol_field(e, "market"), decimal_field(e, "price")});
        return b;
    }
    if (type == "funding") {
        FundingUpdate b;
        for (const auto& e : list_field(j, "rates")) b.rates.push_back({symbol_field(e, "market"), int_field<int64_t>(e, "rate_ppb")});
        return b;
    }
    if (type == "open") {
        Open b;
        b.market = symbol_field(j, "market");
        b.side = side_field(j, "side");
        b.size = decimal_field(j, "size");
        b.price = decimal_field(j, "price");
        b.maker = maker_from_json(field(j, "maker"), policy);
        return b;
    }
    if (type == "liquidate") return Liquidate{hex_field<32>(j, "account"), symbol_field(j, "market")};
    if (type == "adl") return Adl{hex_field<32>(j, "account"), symbol_field(j, "market")};
    fail("type", "unknown transaction type \"" + type + "\"");
}

struct BodyToJson {
    Json& j;
    void operator()(const Deposit& b) const { j["account"] = to_hex(b.account); j["amount"] = b.amount.text; }
    void operator()(const Withdraw& b) const { j["amount"] = b.amount.text; }
    void operator()(const Transfer& b) const { j["to"] = to_hex(b.to); j["amount"] = b.amount.text; }
    void operator()(const SetLeverage& b) const {
        j["market"] = b.market; j["leverage"] = b.leverage; j["mode"] = mode_name(b.mode);
    }
    void operator()(const TransferMargin& b) const { j["market"] = b.market; j["amount"] = b.amount.text; }
    void operator()(const PriceUpdate& b) const {
        Json list = Json::array();
        for (const auto& p : b.prices) list.push_back({{"market", p.market}, {"price", p.price.text}});
        j["prices"] = std::move(list);
    }
    void operator()(const FundingUpdate& b) const {
        Json list = Json::array();
        for (const auto& r : b.rates) list.push_back({{"market", r.market}, {"rate_ppb", r.rate_ppb}});
        j["rates"] = std::move(list);
    }
    void operator()(const Open& b) const {
        j["market"] = b.market;
        j["side"] = side_name(b.side);
        j["size"] = b.size.text;
        j["price"] = b.price.text;
        j["maker"] = {{"account", to_hex(b.maker.account)}, {"side", side_name(b.maker.side)},
                      {"size", b.maker.size.text},         {"limit", b.maker.limit.text},
                      {"reduce_only", b.maker.reduce_only}, {"nonce", b.maker.nonce},
                      {"sig", to_hex(b.maker.sig)}};
    }
    void operator()(const Liquidate& b) const { j["account"] = to_hex(b.account); j["market"] = b.market; }
    void operator()(const Adl& b) const { j["account"] = to_hex(b.account); j["market"] = b.market; }
};

int64_t usd_field(const Json& j, const char* name) {
    const DecimalText d = decimal_field(j, name);
    const ParsedUnits p = parse_units(d.text, usd_decimals);
    if (!p.ok()) fail(name, "must be a usd amount with at most 6 decimals that fits 64 bits");
    return p.value;
}

MarketSpec market_from_json(const Json& j) {
    if (!j.is_object()) fail("markets", "every entry must be an object");
    MarketSpec m;
    m.symbol = symbol_field(j, "symbol");
    try {
        m.size_decimals = int_field<int32_t>(j, "size_decimals");
        if (m.size_decimals < 0 || m.size_decimals > size_decimals_max) fail("size_decimals", "must be in [0, 8]");
        m.price = usd_field(j, "price");
        const Json& tiers = field(j, "tiers");
        if (!tiers.is_array()) fail("tiers", "must be a list");
        for (const auto& t : tiers) {
            if (!t.is_object()) fail("tiers", "every entry must be an object");
            m.tiers.push_back({usd_field(t, "notional_floor"), int_field<uint32_t>(t, "max_leverage")});
        }
    } catch (const FieldError& e) {
        throw FieldError{"markets[" + m.symbol + "]." + e.message};
    }
    return m;
}

Params params_from_json(const Json& j) {
    Params p;
    if (!j.is_object()) fail("params", "must be an object");
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& k = it.key();
        if (k == "taker_fee_ppm") p.taker_fee_ppm = int_field<int64_t>(j, "taker_fee_ppm");
        else if (k == "maker_fee_ppm") p.maker_fee_ppm = int_field<int64_t>(j, "maker_fee_ppm");
        else if (k == "transfer_floor_ppm") p.transfer_floor_ppm = int_field<int64_t>(j, "transfer_floor_ppm");
        else if (k == "backstop_ratio_ppm") p.backstop_ratio_ppm = int_field<int64_t>(j, "backstop_ratio_ppm");
        else if (k == "partial_threshold") p.partial_threshold_usd = usd_field(j, "partial_threshold");
        else if (k == "partial_cooldown_ms") p.partial_cooldown_ms = int_field<int64_t>(j, "partial_cooldown_ms");
        else if (k == "partial_ppm") p.partial_ppm = int_field<int64_t>(j, "partial_ppm");
        else if (k == "liquidation_fee_ppm") p.liquidation_fee_ppm = int_field<int64_t>(j, "liquidation_fee_ppm");
        else if (k == "liquidator_share_ppm") p.liquidator_share_ppm = int_field<int64_t>(j, "liquidator_share_ppm");
        else if (k == "min_notional") p.min_notional_usd = usd_field(j, "min_notional");
        else if (k == "funding_rate_cap_ppb") p.funding_rate_cap_ppb = int_field<int64_t>(j, "funding_rate_cap_ppb");
        else if (k == "insurance_floor") p.insurance_floor_usd = usd_field(j, "insurance_floor");
        else if (k == "default_leverage") p.default_leverage = int_field<uint32_t>(j, "default_leverage");
        else fail("params." + k, "unknown parameter");
    }
    return p;
}

}  // namespace

std::string side_name(Side side) { return side == Side::buy ? "buy" : "sell"; }
std::string mode_name(MarginMode mode) { return mode == MarginMode::cross ? "cross" : "isolated"; }

Parsed<Tx> tx_from_json(const Json& j, SigPolicy policy) {
    try {
        if (!j.is_object()) fail("transaction", "must be a JSON object");
        Tx tx;
        const std::string type = string_field(j, "type");
        tx.signer = hex_field<32>(j, "signer");
        tx.nonce = int_field<uint64_t>(j, "nonce");
        tx.body = body_from_json(type, j, policy);
        tx.sig = sig_field(j, policy);
        return {std::move(tx), {}};
    } catch (const FieldError& e) {
        return {std::nullopt, e.message};
    }
}

Json tx_to_json(const Tx& tx) {
    Json j;
    j["type"] = tx_type_name(tx.body);
    j["signer"] = to_hex(tx.signer);
    j["nonce"] = tx.nonce;
    std::visit(BodyToJson{j}, tx.body);
    j["sig"] = to_hex(tx.sig);
    return j;
}

Parsed<BlockFile> block_file_from_text(std::string_view text, SigPolicy policy) {
    BlockFile file;
    size_t line_number = 0;
    bool seen_content = false;
    while (!text.empty()) {
        const size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        ++line_number;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        const std::string where = "line " + std::to_string(line_number) + ": ";
        Json j = Json::parse(line, nullptr, false);
        if (j.is_discarded()) return {std::nullopt, where + "not valid JSON"};
        if (!seen_content && j.is_object() && j.contains("block")) {
            seen_content = true;
            try {
                const Json& b = j["block"];
                if (!b.is_object()) fail("block", "must be an object");
                if (b.contains("height")) file.header.height = int_field<uint64_t>(b, "height");
                if (b.contains("time_ms")) file.header.time_ms = int_field<int64_t>(b, "time_ms");
            } catch (const FieldError& e) {
                return {std::nullopt, where + "block." + e.message};
            }
            continue;
        }
        seen_content = true;
        if (file.txs.size() >= block_txs_max) return {std::nullopt, where + "more than 1000000 transactions in one block"};
        auto tx = tx_from_json(j, policy);
        if (!tx.ok()) return {std::nullopt, where + tx.error};
        file.txs.push_back(std::move(*tx.value));
    }
    return {std::move(file), {}};
}

Parsed<Genesis> genesis_from_json(const Json& j) {
    try {
        if (!j.is_object()) fail("genesis", "must be a JSON object");
        Genesis g;
        g.chain_id = string_field(j, "chain_id");
        g.genesis_time_ms = int_field<int64_t>(j, "genesis_time_ms");
        const Json& auth = field(j, "authorities");
        if (!auth.is_object()) fail("authorities", "must be an object");
        try {
            g.bridge = hex_field<32>(auth, "bridge");
            g.oracle = hex_field<32>(auth, "oracle");
            g.backstop = hex_field<32>(auth, "backstop");
        } catch (const FieldError& e) {
            throw FieldError{"authorities." + e.message};
        }
        if (j.contains("params")) g.params = params_from_json(j["params"]);
        g.insurance_fund_usd = usd_field(j, "insurance_fund");
        const Json& markets = field(j, "markets");
        if (!markets.is_array()) fail("markets", "must be a list");
        for (const auto& m : markets) g.markets.push_back(market_from_json(m));
        if (auto problem = validate_genesis(g); !problem.empty()) return {std::nullopt, problem};
        return {std::move(g), {}};
    } catch (const FieldError& e) {
        return {std::nullopt, e.message};
    }
}

Json genesis_to_json(const Genesis& g) {
    const Params& p = g.params;
    Json markets = Json::array();
    for (const auto& m : g.markets) {
        Json tiers = Json::array();
        for (const auto& t : m.tiers)
            tiers.push_back({{"notional_floor", format_units(t.notional_floor_usd, usd_decimals)}, {"max_leverage", t.max_leverage}});
        markets.push_back({{"symbol", m.symbol}, {"size_decimals", m.size_decimals},
                           {"price", format_units(m.price, usd_decimals)}, {"tiers", std::move(tiers)}});
    }
    return Json{
        {"chain_id", g.chain_id},
        {"genesis_time_ms", g.genesis_time_ms},
        {"authorities", {{"bridge", to_hex(g.bridge)}, {"oracle", to_hex(g.oracle)}, {"backstop", to_hex(g.backstop)}}},
        {"params",
         {{"taker_fee_ppm", p.taker_fee_ppm},
          {"maker_fee_ppm", p.maker_fee_ppm},
          {"transfer_floor_ppm", p.transfer_floor_ppm},
          {"backstop_ratio_ppm", p.backstop_ratio_ppm},
          {"partial_threshold", format_units(p.partial_threshold_usd, usd_decimals)},
          {"partial_cooldown_ms", p.partial_cooldown_ms},
          {"partial_ppm", p.partial_ppm},
          {"liquidation_fee_ppm", p.liquidation_fee_ppm},
          {"liquidator_share_ppm", p.liquidator_share_ppm},
          {"min_notional", format_units(p.min_notional_usd, usd_decimals)},
          {"funding_rate_cap_ppb", p.funding_rate_cap_ppb},
          {"insurance_floor", format_units(p.insurance_floor_usd, usd_decimals)},
          {"default_leverage", p.default_leverage}}},
        {"insurance_fund", format_units(g.insurance_fund_usd, usd_decimals)},
        {"markets", std::move(markets)},
    };
}

}  // namespace clearnode
