#include "connectors/mysql/mysql_row.h"

#include <gtest/gtest.h>

namespace sluice::mysql {
namespace {

TEST(MySqlRowTest, DecodesEveryValueType) {
  std::vector<SqlRow> rows;
  ASSERT_TRUE(DecodeRowBatch("[1,\"a\",2.5,true,null,{\"x\":[1]},18446744073709551615]\n", 7,
                             "operator 'db' (op3)", &rows)
                  .ok());
  ASSERT_EQ(rows.size(), 1u);
  const SqlRow& row = rows[0];
  EXPECT_EQ(std::get<int64_t>(row[0]), 1);
  EXPECT_EQ(std::get<std::string>(row[1]), "a");
  EXPECT_EQ(std::get<double>(row[2]), 2.5);
  EXPECT_EQ(std::get<bool>(row[3]), true);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(row[4]));
  EXPECT_EQ(std::get<std::string>(row[5]), "{\"x\":[1]}") << "objects go in as JSON text";
  EXPECT_EQ(std::get<uint64_t>(row[6]), 18446744073709551615u);
}

TEST(MySqlRowTest, NullMeansNoRow) {
  std::vector<SqlRow> rows;
  ASSERT_TRUE(DecodeRowBatch("[1,2]\nnull\n[3,4]\n", 2, "op", &rows).ok());
  EXPECT_EQ(rows.size(), 2u);
}

TEST(MySqlRowTest, AWrongNumberOfValuesNamesTheOperatorAndTheCounts) {
  std::vector<SqlRow> rows;
  Status status = DecodeRowBatch("[1,2]\n[1,2,3]\n", 2, "operator 'db' (op3)", &rows);
  EXPECT_EQ(status.domain(), ErrorDomain::kUser);
  EXPECT_EQ(status.message(),
            "operator 'db' (op3): the function returned 3 values, but the statement has 2 '?' "
            "placeholders; the function returned [1,2,3]");
}

TEST(MySqlRowTest, SomethingOtherThanAnArrayIsRefused) {
  std::vector<SqlRow> rows;
  Status status = DecodeRowBatch("{\"id\":1}\n", 2, "operator 'db' (op3)", &rows);
  EXPECT_NE(status.message().find("the function must return an array of the statement's 2 "
                                  "parameter values (or null for no row), got object"),
            std::string::npos)
      << status.message();
}

TEST(MySqlRowTest, DescribesRowsShortly) {
  SqlRow row{int64_t{1}, std::string(100, 'x'), std::monostate{}, 0.5};
  EXPECT_EQ(DescribeRow(row), "[1,\"" + std::string(64, 'x') + "...\",null,0.5]");
}

}  // namespace
}  // namespace sluice::mysql
