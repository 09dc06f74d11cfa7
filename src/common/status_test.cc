// Unit tests for the error model (status.h).
#include "cmud/common/status.h"

#include <gtest/gtest.h>

#include <string>

namespace cmud {
namespace {

TEST(Status, DefaultIsOkAndToStringNamesTheCode) {
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(Status().to_string(), "OK");
  Status s(ErrorCode::kTimeout, "too slow");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.to_string(), "TIMEOUT: too slow");
}

TEST(Result, HoldsAValueOrAnError) {
  Result<std::string> v = std::string("x");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "x");
  EXPECT_TRUE(v.status().ok());
  Result<std::string> e = Status(ErrorCode::kNotFound, "gone");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), ErrorCode::kNotFound);
}

TEST(ResultDeathTest, ValueOnAnErrorStopsWithTheStatusPrinted) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Result<int> r = Status(ErrorCode::kNotFound, "no such thing");
  EXPECT_DEATH((void)r.value(),
               "Result::value\\(\\) on an error: NOT_FOUND: no such thing");
  EXPECT_DEATH((void)*r, "NOT_FOUND");
}

}  // namespace
}  // namespace cmud
