#include "image/image_fixtures.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>

namespace mystyle::testing {
namespace {

void put_be16(ByteVector& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put_be32(ByteVector& out, std::uint32_t v) {
  put_be16(out, v >> 16);
  put_be16(out, v & 0xFFFF);
}

void put_chunk(ByteVector& out, const std::string& type, const ByteVector& data) {
  put_be32(out, static_cast<std::uint32_t>(data.size()));
  ByteVector typed(type.begin(), type.end());
  typed.insert(typed.end(), data.begin(), data.end());
  out.insert(out.end(), typed.begin(), typed.end());
  put_be32(out, crc32(typed.data(), typed.size()));
}

}  // namespace

ByteVector read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  return ByteVector(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::filesystem::path write_bytes(const std::filesystem::path& path, const ByteVector& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  EXPECT_TRUE(out) << "cannot write " << path;
  return path;
}

ByteVector encode(const cv::Mat& image, const std::string& ext, const std::vector<int>& params) {
  ByteVector bytes;
  EXPECT_TRUE(cv::imencode(ext, image, bytes, params)) << "cv::imencode failed for " << ext;
  return bytes;
}

ByteVector with_exif_orientation(const ByteVector& jpeg, int orientation) {
  ByteVector tiff = {'M', 'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08};  // big-endian, IFD0 at offset 8
  put_be16(tiff, 1);                                                 // one entry
  put_be16(tiff, 0x0112);                                            // Orientation
  put_be16(tiff, 3);                                                 // SHORT
  put_be32(tiff, 1);                                                 // count
  put_be16(tiff, static_cast<std::uint32_t>(orientation));
  put_be16(tiff, 0);  // value padding
  put_be32(tiff, 0);  // no next IFD
  ByteVector app1 = {0xFF, 0xE1};
  put_be16(app1, static_cast<std::uint32_t>(2 + 6 + tiff.size()));
  for (char c : std::string("Exif\0\0", 6)) app1.push_back(static_cast<std::uint8_t>(c));
  app1.insert(app1.end(), tiff.begin(), tiff.end());
  // SOI, then APP1, then the rest, appended to the APP1 buffer (GCC 12 misreads other forms).
  ByteVector out = {jpeg.at(0), jpeg.at(1)};
  out.reserve(jpeg.size() + app1.size());
  for (std::uint8_t b : app1) out.push_back(b);
  for (std::size_t i = 2; i < jpeg.size(); ++i) out.push_back(jpeg[i]);
  return out;
}

ByteVector png_header_only(std::uint32_t width, std::uint32_t height) {
  ByteVector out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  ByteVector ihdr;
  put_be32(ihdr, width);
  put_be32(ihdr, height);
  ihdr.insert(ihdr.end(),
              {/*bit_depth=*/8, /*color_type=RGB*/ 2, /*compression=*/0, /*filter=*/0, /*interlace=*/0});
  put_chunk(out, "IHDR", ihdr);
  put_chunk(out, "IDAT", {0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});  // zlib of nothing
  return out;
}

std::uint32_t crc32(const std::uint8_t* data, std::size_t size) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

}  // namespace mystyle::testing
