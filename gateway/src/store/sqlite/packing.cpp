#include "store/sqlite/packing.hpp"

#include <zlib.h>

#include <cstdint>
#include <new>

namespace simpul::sqlite {

namespace {

// DEFLATE keeps the last 32 KiB as its window: a longer dictionary only counts by its end.
constexpr int kWindowBits = -15;  // negative: raw DEFLATE, no zlib header or checksum
// A small match table: each reset clears it, and with the default (128 KiB) clearing it cost
// more than compressing a 600-byte row. The rows are small; so is what finds their matches.
constexpr int kMemLevel = 2;
// The fastest level: what makes these rows small is the dictionary's long matches, which every
// level finds; the slower levels gain a few bytes for twice the time.
constexpr int kLevel = 1;

const Bytef* bytes(std::string_view s) { return reinterpret_cast<const Bytef*>(s.data()); }

// One deflate and one inflate state per thread, reset between uses: creating one allocates
// about 256 KiB, which per row would cost more than the compression.
struct Deflater {
  z_stream z{};
  bool ok = false;
  Deflater() {
    ok = deflateInit2(&z, kLevel, Z_DEFLATED, kWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~Deflater() {
    if (ok) deflateEnd(&z);
  }
};

struct Inflater {
  z_stream z{};
  bool ok = false;
  Inflater() { ok = inflateInit2(&z, kWindowBits) == Z_OK; }
  ~Inflater() {
    if (ok) inflateEnd(&z);
  }
};

}  // namespace

namespace {

// Raw DEFLATE checks nothing: a damaged stream, or the right stream read against the wrong
// dictionary, can inflate to wrong bytes. So the packed form starts with the CRC-32 of what was
// packed (4 bytes, little-endian), and nothing is given back that does not match it.
std::uint32_t crc_of(std::string_view s) {
  return static_cast<std::uint32_t>(crc32(0L, bytes(s), static_cast<uInt>(s.size())));
}

std::optional<std::string> inflate_against(std::string_view packed, std::string_view dictionary) {
  thread_local Inflater f;
  if (!f.ok || inflateReset(&f.z) != Z_OK) return std::nullopt;
  // A raw stream takes its dictionary before the first byte is read.
  if (!dictionary.empty() &&
      inflateSetDictionary(&f.z, bytes(dictionary), static_cast<uInt>(dictionary.size())) != Z_OK)
    return std::nullopt;
  f.z.next_in = const_cast<Bytef*>(bytes(packed));
  f.z.avail_in = static_cast<uInt>(packed.size());
  std::string out;
  char chunk[4096];
  for (;;) {
    f.z.next_out = reinterpret_cast<Bytef*>(chunk);
    f.z.avail_out = sizeof chunk;
    int rc = inflate(&f.z, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - f.z.avail_out);
    if (rc == Z_STREAM_END) break;
    // Out of input before the end (a cut row), or a damaged stream.
    if (rc != Z_OK || (f.z.avail_in == 0 && f.z.avail_out != 0)) return std::nullopt;
  }
  if (f.z.avail_in != 0) return std::nullopt;  // bytes after the end: not what was written
  return out;
}

}  // namespace

std::string pack_against(std::string_view data, std::string_view dictionary) {
  thread_local Deflater d;
  if (!d.ok || deflateReset(&d.z) != Z_OK) throw std::bad_alloc();
  if (!dictionary.empty() &&
      deflateSetDictionary(&d.z, bytes(dictionary), static_cast<uInt>(dictionary.size())) != Z_OK)
    throw std::bad_alloc();
  const std::uint32_t crc = crc_of(data);
  std::string out(4 + deflateBound(&d.z, static_cast<uLong>(data.size())), '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  d.z.next_in = const_cast<Bytef*>(bytes(data));
  d.z.avail_in = static_cast<uInt>(data.size());
  d.z.next_out = reinterpret_cast<Bytef*>(out.data() + 4);
  d.z.avail_out = static_cast<uInt>(out.size() - 4);
  if (deflate(&d.z, Z_FINISH) != Z_STREAM_END) throw std::bad_alloc();
  out.resize(4 + d.z.total_out);
  return out;
}

std::optional<std::string> unpack_against(std::string_view packed, std::string_view dictionary) {
  if (packed.size() < 4) return std::nullopt;
  std::uint32_t crc = 0;
  for (int i = 0; i < 4; ++i)
    crc |= static_cast<std::uint32_t>(static_cast<unsigned char>(packed[i])) << (8 * i);
  auto out = inflate_against(packed.substr(4), dictionary);
  if (!out || crc_of(*out) != crc) return std::nullopt;
  return out;
}

namespace {

// Version 1: what the small event payloads say, then a complaint record with every field in
// write order and no values but the commonest (enum values, the country code). Frozen: rows
// written against it are read with it for as long as they exist.
constexpr std::string_view kPayloadDictionaryV1 =
    R"({"note":"","text":"","reason":"","agency":"","fields":{)"
    R"({"id":"","refs":[{"system":"","id":""}],"type":"pengaduan","title":"","body":"",)"
    R"("category":{"local":"","topic_id":""},"agency":"","region":"",)"
    R"("location":{"text":"","lat":,"lon":},"incident_at":"T00:00:00.000Z",)"
    R"("received_at":"20","channel":"app","reporter":{"name":"","phone":"+62",)"
    R"("email":"","nik":""},"privacy":"anonim","attachments":[]})";

constexpr char kPayloadV1 = '\x01';

}  // namespace

std::string pack_payload(std::string_view json, std::string_view context) {
  std::string dictionary = std::string(kPayloadDictionaryV1) + std::string(context);
  return std::string(1, kPayloadV1) + pack_against(json, dictionary);
}

std::optional<std::string> unpack_payload(std::string_view packed, std::string_view context) {
  if (packed.empty() || packed[0] != kPayloadV1) return std::nullopt;
  std::string dictionary = std::string(kPayloadDictionaryV1) + std::string(context);
  return unpack_against(packed.substr(1), dictionary);
}

}  // namespace simpul::sqlite
