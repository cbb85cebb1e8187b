// Target 2: the decimal parser of RULES §1 against a reference written another way (digit
// strings compared as text, no 128-bit arithmetic), and format_units as its exact inverse.
// The first byte picks the scale (0..18), the rest is the text.
#include "fuzz_common.hpp"
#include "ledger/units.hpp"

#include <cstdint>
#include <cstring>
#include <string>

using namespace clearnode;
using clearnode::fuzz::require;

namespace {

struct Reference {
    ParseError error = ParseError::none;
    int64_t value = 0;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "-?D+(.D+)?", at most 40 characters; the value's digits compared with int64's bounds as
// text.
Reference reference_parse(const std::string& text, int scale) {
    if (text.empty() || text.size() > 40) return {ParseError::syntax};
    size_t i = 0;
    const bool negative = text[0] == '-';
    if (negative) i = 1;
    std::string int_digits, frac_digits;
    while (i < text.size() && is_digit(text[i])) int_digits += text[i++];
    if (int_digits.empty()) return {ParseError::syntax};
    if (i < text.size()) {
        if (text[i] != '.') return {ParseError::syntax};
        ++i;
        while (i < text.size() && is_digit(text[i])) frac_digits += text[i++];
        if (frac_digits.empty() || i != text.size()) return {ParseError::syntax};
    }
    while (!frac_digits.empty() && frac_digits.back() == '0') frac_digits.pop_back();
    if (frac_digits.size() > static_cast<size_t>(scale)) return {ParseError::too_many_decimals};
    std::string digits = int_digits + frac_digits + std::string(static_cast<size_t>(scale) - frac_digits.size(), '0');
    const size_t first = digits.find_first_not_of('0');
    digits = first == std::string::npos ? "0" : digits.substr(first);
    const std::string bound = negative ? "9223372036854775808" : "9223372036854775807";
    if (digits.size() > bound.size() || (digits.size() == bound.size() && digits > bound)) return {ParseError::out_of_range};
    // In range: accumulate toward the sign so that INT64_MIN never needs its magnitude.
    int64_t value = 0;
    for (char c : digits) value = value * 10 + (negative ? -(c - '0') : (c - '0'));
    return {ParseError::none, value};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const int scale = data[0] % 19;
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
    const ParsedUnits parsed = parse_units(text, scale);
    const Reference want = reference_parse(text, scale);
    require(parsed.error == want.error, "parse_units(\"" + text + "\", " + std::to_string(scale) + ") error " +
                                            std::to_string(static_cast<int>(parsed.error)) + ", reference " +
                                            std::to_string(static_cast<int>(want.error)));
    require(is_decimal_text(text) == (want.error != ParseError::syntax), "is_decimal_text disagrees on \"" + text + "\"");
    if (parsed.ok()) {
        require(parsed.value == want.value, "parse_units(\"" + text + "\") = " + std::to_string(parsed.value) +
                                                ", reference " + std::to_string(want.value));
        const std::string formatted = format_units(parsed.value, scale);
        const ParsedUnits again = parse_units(formatted, scale);
        require(again.ok() && again.value == parsed.value, "format_units is not parse_units' inverse: " + formatted);
    }
    // Any int64 from the input's first 8 bytes: format, then parse back exactly, canonically.
    if (size >= 9) {
        int64_t v;
        std::memcpy(&v, data + 1, sizeof v);
        const std::string formatted = format_units(v, scale);
        const ParsedUnits back = parse_units(formatted, scale);
        require(back.ok() && back.value == v, "format_units(" + std::to_string(v) + ") does not parse back: " + formatted);
        require(formatted.back() != '.' && (formatted.find('.') == std::string::npos || formatted.back() != '0'),
                "format_units is not the shortest text: " + formatted);
    }
    return 0;
}
