#pragma once
/// Builders for the image tests' inputs, made at run time: encoded images, EXIF-tagged JPEGs,
/// header-only PNGs, raw file bytes.
#include <cstdint>
#include <filesystem>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

namespace mystyle::testing {

using ByteVector = std::vector<std::uint8_t>;

/// The whole file.
ByteVector read_bytes(const std::filesystem::path& path);
/// Writes bytes to path and returns it.
std::filesystem::path write_bytes(const std::filesystem::path& path, const ByteVector& bytes);

/// cv::imencode of a BGR(A)/gray image; `ext` like ".png". Fails the test when encoding fails.
ByteVector encode(const cv::Mat& image, const std::string& ext, const std::vector<int>& params = {});

/// `jpeg` with a minimal APP1 Exif segment (big-endian TIFF, IFD0 holding only the orientation
/// tag) inserted right after the start-of-image marker.
ByteVector with_exif_orientation(const ByteVector& jpeg, int orientation);

/// A PNG signature, an IHDR chunk declaring width x height (8-bit RGB) with a correct CRC, and a
/// tiny IDAT chunk: a valid start of a PNG whose pixel data never comes.
ByteVector png_header_only(std::uint32_t width, std::uint32_t height);

/// CRC-32 as PNG uses it (ISO 3309, polynomial 0xEDB88320), computed bit by bit.
std::uint32_t crc32(const std::uint8_t* data, std::size_t size);

}  // namespace mystyle::testing
