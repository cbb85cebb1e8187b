// Bugs that the determinism tests (property tests, fuzz targets, cross-compiler golden runs)
// found, one test each, so that they stay fixed. README "How determinism is proven" lists them.
#include "testkit.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace clearnode;
using namespace clearnode::test;

// fuzz_decimal: parse_units formed the whole magnitude in checked 128 bits before comparing it
// with int64, so 39 or more digits (or fewer times 10^scale) threw Boost's std::overflow_error,
// which is not OverflowError: out of a transaction it escaped Engine::apply_block and would
// stop every node on one signed deposit.
TEST_CASE("regression: a decimal text too long for 128 bits is out of range, not an escaped exception") {
    const std::string nines_39(39, '9');
    const std::string nines_40(40, '9');
    CHECK(parse_units(nines_39, 6).error == ParseError::out_of_range);
    CHECK(parse_units(nines_40, 0).error == ParseError::out_of_range);
    CHECK(parse_units("-" + nines_39, 18).error == ParseError::out_of_range);
    CHECK(parse_units("8000000000000000000.000000000000000000", 18).error == ParseError::out_of_range);
    // The edges still read exactly.
    CHECK(parse_units("9223372036854775807", 0).value == INT64_MAX);
    CHECK(parse_units("-9223372036854775808", 0).value == INT64_MIN);
    CHECK(parse_units("9223372036854775808", 0).error == ParseError::out_of_range);
    CHECK(parse_units("000000000000000000000000000000000000001", 18).value == 1'000'000'000'000'000'000);

    Chain c;
    CHECK(status(c.apply(c.deposit("alice", nines_39))) == "overflow");
    CHECK(status(c.apply(c.deposit("alice", "0." + std::string(38, '0')))) == "bad_amount");
    CHECK(status(c.apply(c.deposit("alice", "100"))) == "ok");
    CHECK(status(c.apply(c.withdraw("alice", nines_40))) == "overflow");
    CHECK(status(c.apply(c.transfer("alice", "bob", "-" + std::string(37, '9') + ".5"))) == "overflow");
}
