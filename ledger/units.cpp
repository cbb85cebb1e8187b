#include "ledger/units.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <limits>

namespace clearnode {

int64_t pow10(int exp) {
    assert(exp >= 0 && exp <= 18);
    int64_t result = 1;
    for (int i = 0; i < exp; ++i) result *= 10;
    return result;
}

int64_t narrow(const Wide& value) {
    if (value > std::numeric_limits<int64_t>::max() || value < std::numeric_limits<int64_t>::min())
        throw OverflowError();
    return static_cast<int64_t>(value);
}

Wide abs_wide(int64_t v) { return v < 0 ? Wide(-Wide(v)) : Wide(v); }

int64_t checked_add(int64_t a, int64_t b) {
    int64_t out;
    if (__builtin_add_overflow(a, b, &out)) throw OverflowError();
    return out;
}

int64_t checked_sub(int64_t a, int64_t b) {
    int64_t out;
    if (__builtin_sub_overflow(a, b, &out)) throw OverflowError();
    return out;
}

int64_t checked_neg(int64_t a) { return checked_sub(0, a); }

int64_t checked_abs(int64_t a) { return a < 0 ? checked_neg(a) : a; }

int64_t checked_mul(int64_t a, int64_t b) {
    int64_t out;
    if (__builtin_mul_overflow(a, b, &out)) throw OverflowError();
    return out;
}

// C++ division truncates toward zero; adjust when the remainder is non-zero and the exact
// quotient lies on the other side.
Wide div_floor(const Wide& n, const Wide& d) {
    assert(d != 0);
    Wide q = n / d;
    Wide r = n % d;
    if (r != 0 && ((r < 0) != (d < 0))) q -= 1;
    return q;
}

Wide div_ceil(const Wide& n, const Wide& d) {
    assert(d != 0);
    Wide q = n / d;
    Wide r = n % d;
    if (r != 0 && ((r < 0) == (d < 0))) q += 1;
    return q;
}

int64_t mul_div_floor(int64_t a, int64_t b, int64_t c) {
    return narrow(div_floor(Wide(a) * Wide(b), Wide(c)));
}

int64_t mul_div_ceil(int64_t a, int64_t b, int64_t c) {
    return narrow(div_ceil(Wide(a) * Wide(b), Wide(c)));
}

bool is_decimal_text(std::string_view text) {
    if (text.empty() || text.size() > 40) return false;
    size_t i = 0;
    if (text[0] == '-') i = 1;
    size_t int_digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') { ++i; ++int_digits; }
    if (int_digits == 0) return false;
    if (i == text.size()) return true;
    if (text[i] != '.') return false;
    ++i;
    size_t frac_digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') { ++i; ++frac_digits; }
    return frac_digits > 0 && i == text.size();
}

ParsedUnits parse_units(std::string_view text, int scale) {
    assert(scale >= 0 && scale <= 18);
    if (!is_decimal_text(text)) return {0, ParseError::syntax};
    const bool negative = text[0] == '-';
    if (negative) text.remove_prefix(1);
    const size_t dot = text.find('.');
    std::string_view int_part = text.substr(0, dot);
    std::string_view frac_part = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
    while (!frac_part.empty() && frac_part.back() == '0') frac_part.remove_suffix(1);
    if (frac_part.size() > static_cast<size_t>(scale)) return {0, ParseError::too_many_decimals};
    // 40 digits, or fewer scaled by 10^18, do not fit even 128 bits: stop as soon as the
    // magnitude passes int64's (it never shrinks as digits are appended).
    const Wide limit = negative ? -Wide(std::numeric_limits<int64_t>::min()) : Wide(std::numeric_limits<int64_t>::max());
    Wide magnitude = 0;
    auto append = [&](int digit) {
        magnitude = magnitude * 10 + digit;
        return magnitude <= limit;
    };
    for (char c : int_part)
        if (!append(c - '0')) return {0, ParseError::out_of_range};
    for (char c : frac_part)
        if (!append(c - '0')) return {0, ParseError::out_of_range};
    for (size_t i = frac_part.size(); i < static_cast<size_t>(scale); ++i)
        if (!append(0)) return {0, ParseError::out_of_range};
    if (negative) magnitude = -magnitude;
    return {narrow(magnitude), ParseError::none};
}

std::string format_wide(const Wide& value) {
    // Digit by digit: Boost's own str() trips a spurious -Wrestrict in GCC 12.
    Wide magnitude = value < 0 ? Wide(-value) : value;
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
        magnitude /= 10;
    } while (magnitude != 0);
    return value < 0 ? "-" + digits : digits;
}

std::string format_units(int64_t value, int scale) {
    assert(scale >= 0 && scale <= 18);
    // The magnitude in unsigned arithmetic (modulo 2^64, exact here), so that INT64_MIN has one.
    const uint64_t magnitude = value < 0 ? uint64_t{0} - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
    const auto unit = static_cast<uint64_t>(pow10(scale));
    std::array<char, 1 + 20 + 1 + 18> text{};  // sign, whole part, point, fraction
    char* end = text.data();
    if (value < 0) *end++ = '-';
    end = std::to_chars(end, text.data() + text.size(), magnitude / unit).ptr;  // floor: both >= 0
    uint64_t fraction = magnitude % unit;
    if (fraction != 0) {
        // `scale` digits with their leading zeros, then without trailing ones.
        std::array<char, 18> digits{};
        for (int i = scale - 1; i >= 0; --i, fraction /= 10) digits[static_cast<size_t>(i)] = static_cast<char>('0' + fraction % 10);
        auto kept = static_cast<size_t>(scale);
        while (digits[kept - 1] == '0') --kept;
        *end++ = '.';
        end = std::copy_n(digits.data(), kept, end);
    }
    return std::string(text.data(), end);
}

}  // namespace clearnode
