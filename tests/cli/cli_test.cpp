#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <memory>
#include <set>
#include <nlohmann/json.hpp>

#include "mystyle/catalog/catalog.h"
#include "engine/engine_fixture.h"
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

/// The design of a MANGO product code, split here: "53000586-TO" -> "53000586".
std::string design_of_code(const std::string& code) { return code.substr(0, code.find('-')); }

// Asking by colour from the command line, on 120 real MANGO products with seed64 trained one epoch by
// `mystyle train`: --colour (any case, or a colour name) keeps exactly the unfiltered ranking's items of
// that family; `mystyle colours` lists exactly the design's other items; bad words and ids fail in one
// line naming the option.
TEST(Cli, AsksByColour) {
  testing::TempDir dir;
  const auto ws = dir / "ws";
  if (!testing::import_mango_sample(ws, 120)) GTEST_SKIP() << "MANGO data set absent";
  const std::string w = " --workspace " + ws.string();
  ASSERT_EQ(run_cli("train --model seed64 --epochs 1 --batch 16" + w).status, 0);
  ASSERT_EQ(run_cli("embed --model seed64" + w).status, 0);
  catalog::Catalog cat(ws);
  const auto items = cat.all_items();
  const std::string photo = *items.front().image_path;
  const Result all = run_cli("recommend --model seed64 --json -k 200 --outfits 0 " + photo + w);
  ASSERT_EQ(all.status, 0) << all.output;
  const auto full = nlohmann::json::parse(all.output)["similar"];
  ASSERT_EQ(full.size(), items.size());
  for (const auto& [asked, family] : std::vector<std::pair<std::string, std::string>>{{"Navy", "blue"}, {"WHITE", "white"}}) {
    const Result r = run_cli("recommend --model seed64 --json -k 5 --outfits 0 --colour " + asked + " " + photo + w);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto doc = nlohmann::json::parse(r.output);
    EXPECT_EQ(doc["query"]["colour"], family);
    std::vector<std::int64_t> expected, got;
    for (const auto& s : full) {
      if (s["colour_family"] == family && expected.size() < 5) expected.push_back(s["item_id"]);
    }
    for (const auto& s : doc["similar"]) got.push_back(s["item_id"]);
    EXPECT_FALSE(expected.empty()) << family;
    EXPECT_EQ(got, expected) << family;
  }
  const Result table = run_cli("recommend --model seed64 -k 3 --outfits 0 --colour navy " + photo + w);
  ASSERT_EQ(table.status, 0) << table.output;
  EXPECT_NE(table.output.find("similar items (cosine, colour blue):"), std::string::npos) << table.output;

  const Result bad = run_cli("recommend --model seed64 --colour chartreuse " + photo + w);
  EXPECT_EQ(bad.status, 1);
  EXPECT_TRUE(bad.output.starts_with("mystyle: error: --colour: 'chartreuse' names no colour family (accepted: black, white, grey,"))
      << bad.output;
  EXPECT_EQ(std::count(bad.output.begin(), bad.output.end(), '\n'), 1) << bad.output;
  EXPECT_EQ(run_cli("complete --colour chartreuse " + photo + w).status, 1);

  // A product whose design has other colours in the sample.
  const catalog::Item* asked = nullptr;
  std::set<std::int64_t> design;
  for (const auto& item : items) {
    std::set<std::int64_t> others;
    for (const auto& other : items) {
      if (other.id != item.id && design_of_code(other.source_id) == design_of_code(item.source_id)) others.insert(other.id);
    }
    if (!others.empty()) {
      asked = &item;
      design = others;
      break;
    }
  }
  ASSERT_NE(asked, nullptr);
  for (const std::string& id : {asked->source_id, std::to_string(asked->id)}) {
    const Result r = run_cli("colours --model seed64 --json -k 4 --colour black " + id + w);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto doc = nlohmann::json::parse(r.output);
    EXPECT_EQ(doc["item"]["item_id"], asked->id);
    EXPECT_EQ(doc["colour"], "black");
    std::set<std::int64_t> got;
    for (const auto& m : doc["same_design"]) got.insert(m["item_id"].get<std::int64_t>());
    EXPECT_EQ(got, design);
    EXPECT_LE(doc["nearest"].size(), 4u);
    for (const auto& m : doc["nearest"]) {
      EXPECT_EQ(m["colour_family"], "black");
      EXPECT_EQ(m["type"], asked->type);
    }
  }
  const Result printed = run_cli("colours --model seed64 " + asked->source_id + w);
  ASSERT_EQ(printed.status, 0) << printed.output;
  EXPECT_NE(printed.output.find("same design, other colours"), std::string::npos) << printed.output;
  const Result unknown = run_cli("colours --model seed64 987654321" + w);
  EXPECT_EQ(unknown.status, 1);
  EXPECT_EQ(unknown.output, "mystyle: error: ITEM: no item with id 987654321\n");
  EXPECT_EQ(run_cli("colours --model seed64 NO-SUCH-CODE" + w).output,
            "mystyle: error: ITEM: no item with id or product code 'NO-SUCH-CODE'\n");
  EXPECT_EQ(run_cli("colours --model seed64 --colour moonbeam " + asked->source_id + w).status, 1);
}

}  // namespace
}  // namespace mystyle
