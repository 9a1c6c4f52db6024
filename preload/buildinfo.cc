#include "preload/buildinfo.h"

#include <cstring>
#include <sstream>

namespace dlvidx {
namespace {

bool varint_string(Bytes b, size_t& pos, std::string& out) {
  uint64_t n = 0;
  for (int shift = 0; pos < b.size(); shift += 7) {
    uint8_t c = b[pos++];
    n |= uint64_t(c & 0x7f) << shift;
    if (!(c & 0x80)) break;
    if (shift > 56) return false;
  }
  if (n > b.size() - pos) return false;
  out.assign(reinterpret_cast<const char*>(b.data() + pos), n);
  pos += n;
  return true;
}

}  // namespace

std::optional<std::string> GoBuildInfo::setting(const std::string& key) const {
  std::istringstream in(modinfo);
  for (std::string line; std::getline(in, line);) {
    std::string prefix = "build\t" + key + "=";
    if (line.rfind(prefix, 0) == 0) {
      std::string v = line.substr(prefix.size());
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return std::nullopt;
}

std::optional<GoBuildInfo> read_go_buildinfo(const ObjectFile& obj) {
  for (const char* name :
       {".go.buildinfo", "__DATA,__go_buildinfo", "__DATA_CONST,__go_buildinfo"}) {
    const Section* s = obj.find(name);
    if (!s || s->data.size() < 32) continue;
    Bytes b = s->data;
    if (std::memcmp(b.data(), "\xff Go buildinf:", 14) != 0) return std::nullopt;
    if (!(b[15] & 0x2)) return std::nullopt;  // pre-1.18 pointer format
    GoBuildInfo info;
    size_t pos = 32;
    if (!varint_string(b, pos, info.go_version) || !varint_string(b, pos, info.modinfo))
      return std::nullopt;
    return info;
  }
  return std::nullopt;
}

}  // namespace dlvidx
