// Fixed-point units of RULES §1 and the only arithmetic the consensus code uses on them.
//
// Every quantity is an int64 in a named unit. Products are formed in checked 128-bit
// integers and every division names its direction. A result that does not fit its int64
// throws OverflowError, which the engine turns into the `overflow` reason code at the
// transaction boundary: nothing wraps, nothing is undefined behaviour.
#pragma once

#include <boost/multiprecision/cpp_int.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace clearnode {

// Sign-magnitude, range ±(2^128-1); every operation that leaves the range throws.
using Wide = boost::multiprecision::checked_int128_t;

struct OverflowError : std::overflow_error {
    OverflowError() : std::overflow_error("overflow") {}
};

constexpr int usd_decimals = 6;          // 1 usd unit = 10^-6 USD
constexpr int64_t usd_one = 1'000'000;   // 1 USD in usd units
constexpr int64_t ppm_one = 1'000'000;   // 100% in ppm
constexpr int64_t ppb_one = 1'000'000'000;
constexpr int size_decimals_max = 8;

// 10^exp for exp in [0, 18].
int64_t pow10(int exp);

// The value as int64, or OverflowError.
int64_t narrow(const Wide& value);

int64_t checked_add(int64_t a, int64_t b);
int64_t checked_sub(int64_t a, int64_t b);
int64_t checked_neg(int64_t a);
// |a|, or OverflowError for INT64_MIN.
int64_t checked_abs(int64_t a);
int64_t checked_mul(int64_t a, int64_t b);

// |v| in 128 bits: defined for INT64_MIN too.
Wide abs_wide(int64_t v);

// floor(n / d) and ceil(n / d) for d != 0, in either sign (toward -inf / +inf).
Wide div_floor(const Wide& n, const Wide& d);
Wide div_ceil(const Wide& n, const Wide& d);

// a * b / c rounded toward -inf or +inf, the product in 128 bits.
int64_t mul_div_floor(int64_t a, int64_t b, int64_t c);
int64_t mul_div_ceil(int64_t a, int64_t b, int64_t c);

// Decimal text of RULES §1: "-?[0-9]+(\.[0-9]+)?", at most 40 characters.
bool is_decimal_text(std::string_view text);

enum class ParseError : uint8_t { none, too_many_decimals, out_of_range, syntax };

struct ParsedUnits {
    int64_t value = 0;
    ParseError error = ParseError::none;
    bool ok() const { return error == ParseError::none; }
};

// "65000.5" with scale 6 -> 65000500000. More decimals than `scale` is an error, never a
// rounding; a value beyond int64 is out_of_range.
ParsedUnits parse_units(std::string_view text, int scale);

// Decimal text of a 128-bit integer (the funding indexes).
std::string format_wide(const Wide& value);

// The shortest exact decimal text: 65000500000 with scale 6 -> "65000.5".
std::string format_units(int64_t value, int scale);

}  // namespace clearnode
