#pragma once
/// The recommend tests' catalog: coat c1, tees t1 t2, jeans j1 j2, shoes s1, and four outfits
/// (o1 tee + jeans; o2 coat over tee, jeans; o3 jeans, shoes, other tee; o4 tee 2 + jeans 2), imported
/// from CSV with source "t".
#include <filesystem>

#include "mystyle/catalog/import.h"
#include "support/test_support.h"

namespace mystyle::testing {

inline void import_small_catalog(const std::filesystem::path& dir, catalog::Catalog& cat) {
  auto items = write_file(dir / "items.csv",
                                            "id,name,category,url\n"
                                            "c1,Coat,Outerwear,u\nt1,Tee,Tops,u\nt2,Tee 2,Tops,u\n"
                                            "j1,Jeans,Bottoms,u\nj2,Jeans 2,Bottoms,u\ns1,Shoes,Footwear,u\n");
  auto outfits = write_file(dir / "outfits.csv",
                                              "outfit_id,item_id,slot\n"
                                              "o1,t1,\no1,j1,\n"                  // tee + jeans
                                              "o2,c1,\no2,t1,inner_top\no2,j2,\n"  // coat over tee
                                              "o3,j1,\no3,s1,\no3,t2,\n"           // jeans, shoes, other tee
                                              "o4,t2,\no4,j2,\n");
  catalog::import_csv(cat, items, outfits, "t");
}

}  // namespace mystyle::testing
