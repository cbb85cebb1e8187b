#include "ledger/units.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace clearnode;

TEST_CASE("parse_units reads exact decimals and refuses to round") {
    CHECK(parse_units("65000.5", 6).value == 65'000'500'000);
    CHECK(parse_units("0.000001", 6).value == 1);
    CHECK(parse_units("-5.5", 6).value == -5'500'000);
    CHECK(parse_units("1.50", 1).value == 15);  // trailing zeros are not extra decimals
    CHECK(parse_units("0.0000001", 6).error == ParseError::too_many_decimals);
    CHECK(parse_units("1.5", 0).error == ParseError::too_many_decimals);
    CHECK(parse_units("9223372036854.775807", 6).value == std::numeric_limits<int64_t>::max());
    CHECK(parse_units("9223372036854.775808", 6).error == ParseError::out_of_range);
    CHECK(parse_units("-9223372036854.775808", 6).value == std::numeric_limits<int64_t>::min());
    CHECK(parse_units("99999999999999999999999999999999999999", 0).error == ParseError::out_of_range);
    for (const char* bad : {"", "-", ".5", "5.", "1e5", "+1", " 1", "1,5", "0x10", "--1", "1.2.3"})
        CHECK_MESSAGE(parse_units(bad, 6).error == ParseError::syntax, bad);
}

TEST_CASE("format_units is the shortest exact text and round-trips") {
    CHECK(format_units(65'000'500'000, 6) == "65000.5");
    CHECK(format_units(0, 6) == "0");
    CHECK(format_units(-1, 6) == "-0.000001");
    CHECK(format_units(100, 0) == "100");
    CHECK(format_units(std::numeric_limits<int64_t>::min(), 6) == "-9223372036854.775808");
    CHECK(format_units(std::numeric_limits<int64_t>::min(), 0) == "-9223372036854775808");
    CHECK(format_units(std::numeric_limits<int64_t>::min(), 18) == "-9.223372036854775808");
    CHECK(format_units(std::numeric_limits<int64_t>::max(), 18) == "9.223372036854775807");
    CHECK(format_units(1'000'000'000'000'000'000, 18) == "1");
    CHECK(format_units(-1'050'000, 6) == "-1.05");
    CHECK(format_units(-500'000, 6) == "-0.5");
    for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-7}, int64_t{123456789}, std::numeric_limits<int64_t>::max(),
                      std::numeric_limits<int64_t>::min()})
        for (int scale : {0, 2, 5, 6, 8}) CHECK(parse_units(format_units(v, scale), scale).value == v);
}

TEST_CASE("division names its direction in every sign") {
    CHECK(mul_div_floor(7, 1, 2) == 3);
    CHECK(mul_div_ceil(7, 1, 2) == 4);
    CHECK(mul_div_floor(-7, 1, 2) == -4);
    CHECK(mul_div_ceil(-7, 1, 2) == -3);
    CHECK(mul_div_floor(7, 1, -2) == -4);
    CHECK(mul_div_ceil(-7, 1, -2) == 4);
    CHECK(mul_div_floor(6, 1, 2) == 3);
    CHECK(mul_div_ceil(6, 1, 2) == 3);
    // The product exceeds int64 but the quotient fits.
    CHECK(mul_div_floor(std::numeric_limits<int64_t>::max(), 1'000'000, 1'000'000) == std::numeric_limits<int64_t>::max());
}

TEST_CASE("overflow throws instead of wrapping") {
    constexpr int64_t max = std::numeric_limits<int64_t>::max();
    CHECK_THROWS_AS(checked_add(max, 1), OverflowError);
    CHECK_THROWS_AS(checked_sub(std::numeric_limits<int64_t>::min(), 1), OverflowError);
    CHECK_THROWS_AS(checked_neg(std::numeric_limits<int64_t>::min()), OverflowError);
    CHECK_THROWS_AS(checked_mul(max, 2), OverflowError);
    CHECK_THROWS_AS(mul_div_floor(max, max, 1), OverflowError);
    CHECK_THROWS_AS(narrow(Wide(max) + 1), OverflowError);
    CHECK(checked_add(max - 1, 1) == max);
}

TEST_CASE("checked_abs refuses the one int64 without a positive counterpart") {
    CHECK(checked_abs(-5) == 5);
    CHECK(checked_abs(7) == 7);
    CHECK(checked_abs(std::numeric_limits<int64_t>::max()) == std::numeric_limits<int64_t>::max());
    CHECK_THROWS_AS(checked_abs(std::numeric_limits<int64_t>::min()), OverflowError);
}
