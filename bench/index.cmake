# Similarity-search benchmark (index/): include from bench/CMakeLists.txt with
#   include(${CMAKE_CURRENT_SOURCE_DIR}/index.cmake)
# Run: build/<preset>/bench/index_bench   (peers: /usr/bin/python3 tools/index_peer.py, numpy + faiss)
add_executable(index_bench ${CMAKE_CURRENT_LIST_DIR}/index_bench.cpp)
target_include_directories(index_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests)  # index/test_vectors.h
target_link_libraries(index_bench PRIVATE mystyle::index nlohmann_json::nlohmann_json fmt::fmt mystyle::warnings)
target_compile_definitions(index_bench PRIVATE MYSTYLE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
