#include "index/go_path.h"

namespace dlvidx::index {

// A transcription of the algorithm (not the code) of Go's path.Clean: process
// the path element by element, dropping "." and resolving ".." lexically.
std::string go_path_clean(std::string_view p) {
  if (p.empty()) return ".";
  const bool rooted = p[0] == '/';
  const size_t n = p.size();
  std::string out;
  out.reserve(n);
  size_t r = 0, dotdot = 0;
  if (rooted) {
    out.push_back('/');
    r = 1;
    dotdot = 1;
  }
  while (r < n) {
    if (p[r] == '/') {
      r++;
    } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
      r++;
    } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
      r += 2;
      if (out.size() > dotdot) {
        size_t w = out.size() - 1;
        while (w > dotdot && out[w] != '/') w--;
        out.resize(w);
      } else if (!rooted) {
        if (!out.empty()) out.push_back('/');
        out += "..";
        dotdot = out.size();
      }
    } else {
      if ((rooted && out.size() != 1) || (!rooted && !out.empty())) out.push_back('/');
      for (; r < n && p[r] != '/'; r++) out.push_back(p[r]);
    }
  }
  if (out.empty()) return ".";
  return out;
}

std::string go_path_join(std::string_view a, std::string_view b) {
  if (a.empty() && b.empty()) return "";
  if (a.empty()) return go_path_clean(b);
  if (b.empty()) return go_path_clean(a);
  std::string s(a);
  s.push_back('/');
  s.append(b);
  return go_path_clean(s);
}

bool delve_path_is_abs(std::string_view s) {
  if (!s.empty() && s[0] == '/') return true;
  return s.size() >= 2 && s[1] == ':' &&
         ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'));
}

}  // namespace dlvidx::index
