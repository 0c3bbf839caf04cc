#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "mystyle/catalog/catalog.h"
#include "support/test_support.h"

namespace mystyle {
namespace {

struct Result {
  int status = -1;
  std::string output;  // stdout and stderr together
};

Result run_cli(const std::string& args) {
  const std::string command = std::string(MYSTYLE_CLI) + " " + args + " 2>&1";
  Result result;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) result.output += buffer.data();
  result.status = WEXITSTATUS(pclose(pipe.release()));
  return result;
}

TEST(Cli, VersionAndHelp) {
  EXPECT_EQ(run_cli("--version").status, 0);
  const Result help = run_cli("--help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.output.find("import"), std::string::npos);
}

TEST(Cli, ImportCsvThenInfoAsJson) {
  testing::TempDir dir;
  testing::write_file(dir / "items.csv", "id,name,category,url\np1,Coat,Outerwear,u1\np2,Jeans,Bottoms,u2\n");
  testing::write_file(dir / "outfits.csv", "outfit_id,item_id\no1,p1\no1,p2\n");
  const std::string ws = (dir / "ws").string();
  const Result imported = run_cli("import csv --items " + (dir / "items.csv").string() + " --outfits " +
                                  (dir / "outfits.csv").string() + " --workspace " + ws + " --json");
  ASSERT_EQ(imported.status, 0) << imported.output;
  EXPECT_EQ(nlohmann::json::parse(imported.output)["memberships"], 2);
  const Result info = run_cli("info --json --workspace " + ws);
  ASSERT_EQ(info.status, 0) << info.output;
  const auto doc = nlohmann::json::parse(info.output);
  EXPECT_EQ(doc["items"], 2);
  EXPECT_EQ(doc["outfits"], 1);
}

// A failed command prints one error line naming the file and exits non-zero.
TEST(Cli, ErrorIsOneLineAndNonZero) {
  testing::TempDir dir;
  testing::write_file(dir / "items.csv", "id,name,url\np1,Coat,u1\n");
  const Result r = run_cli("import csv --items " + (dir / "items.csv").string() + " --workspace " + (dir / "ws").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output, "mystyle: error: " + (dir / "items.csv").string() + ":1: missing column 'category'\n");
}

TEST(Cli, WorkspaceFromEnvironment) {
  testing::TempDir dir;
  const std::string ws = (dir / "envws").string();
  const std::string command = "MYSTYLE_WORKSPACE=" + ws + " " + std::string(MYSTYLE_CLI) + " info --json >/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_TRUE(std::filesystem::exists(dir / "envws" / "catalog.db"));
}

}  // namespace
}  // namespace mystyle
