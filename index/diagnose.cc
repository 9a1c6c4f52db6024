#include "index/diagnose.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <fstream>

#include "preload/object_file.h"

namespace dlvidx::index {
namespace fs = std::filesystem;

namespace {

std::string base_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i <= path.size();) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// "A, B and 2 more" of at most `max` names.
std::string list(const std::vector<std::string>& names, size_t max = 3) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max; i++) out += (i ? ", " : "") + names[i];
  if (names.size() > max) out += fmt::format(" and {} more", names.size() - max);
  return out;
}

// Why the go command may leave a file out of a build, from the file alone: a //go:build line
// above the package clause, or a name ending in _GOOS, _GOARCH or _GOOS_GOARCH that is not the
// binary's (goos, goarch).
std::string build_constraint(const std::string& path, std::string_view goos,
                             std::string_view goarch) {
  static constexpr std::array<std::string_view, 17> kGoos = {
      "aix",   "android", "darwin", "dragonfly", "freebsd", "hurd",    "illumos", "ios",    "js",
      "linux", "nacl",    "netbsd", "openbsd",   "plan9",   "solaris", "wasip1",  "windows"};
  static constexpr std::array<std::string_view, 13> kGoarch = {
      "386",    "amd64",    "arm",   "arm64",   "loong64", "mips", "mipsle",
      "mips64", "mips64le", "ppc64", "ppc64le", "riscv64", "s390x"};
  auto is = [](auto& set, std::string_view w) {
    return std::find(set.begin(), set.end(), w) != set.end();
  };
  std::ifstream in(path);
  std::string line;
  for (int n = 0; n < 200 && std::getline(in, line); n++) {
    if (line.starts_with("package ")) break;
    if (line.starts_with("//go:build ")) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      return fmt::format("its build constraint ({}) leaves it out", line);
    }
  }
  std::string stem = base_name(path);
  if (!stem.ends_with(".go")) return {};
  stem.resize(stem.size() - 3);
  if (stem.ends_with("_test")) stem.resize(stem.size() - 5);
  std::vector<std::string_view> parts;
  for (std::string_view rest = stem; !rest.empty();) {
    size_t u = rest.find('_');
    parts.push_back(rest.substr(0, u));
    rest = u == std::string_view::npos ? std::string_view{} : rest.substr(u + 1);
  }
  std::string_view os, arch;
  if (parts.size() >= 3 && is(kGoos, parts[parts.size() - 2]) && is(kGoarch, parts.back()))
    os = parts[parts.size() - 2], arch = parts.back();
  else if (parts.size() >= 2 && is(kGoos, parts.back()))
    os = parts.back();
  else if (parts.size() >= 2 && is(kGoarch, parts.back()))
    arch = parts.back();
  if ((os.empty() || os == goos) && (arch.empty() || arch == goarch)) return {};
  return fmt::format("its name limits it to {}{}{} builds, and this binary is for {}/{}",
                     os.empty() ? "" : "GOOS=" + std::string(os),
                     os.empty() || arch.empty() ? "" : " ",
                     arch.empty() ? "" : "GOARCH=" + std::string(arch), goos, goarch);
}

}  // namespace

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::kBound:
      return "bound";
    case Verdict::kMoved:
      return "moved";
    case Verdict::kNotInBinary:
      return "not_in_binary";
    case Verdict::kAmbiguous:
      return "ambiguous";
    case Verdict::kTestFile:
      return "test_file";
    case Verdict::kOutsideFunctions:
      return "outside_functions";
    case Verdict::kNotCompiled:
      return "not_compiled";
    case Verdict::kNoStatement:
      return "no_statement";
    case Verdict::kWrappersOnly:
      return "wrappers_only";
  }
  return "?";
}

Diagnosis Diagnoser::diagnose(const std::string& client_path, int64_t line) {
  Diagnosis d;
  d.mapping = map_.map(client_path);
  d.line = line > 0 && line <= UINT32_MAX ? static_cast<uint32_t>(line) : 0;
  if (!d.mapping.file) {
    not_mapped(d, client_path);
    return d;
  }
  const uint32_t file = *d.mapping.file;
  SnappedLocation at = snap_.snap(file, line);
  if (at.status == LookupStatus::kFound) {
    d.verdict = at.line == d.line ? Verdict::kBound : Verdict::kMoved;
    d.line = at.line;
    d.pcs = std::move(at.pcs);
    d.message = std::move(at.message);
    // Only a file at the place it was built from says something by its time: a copy (another
    // checkout, a container's sources, another GOROOT) is newer for reasons of its own.
    const std::string& rule = d.mapping.rule;
    if (rule == "exact" || rule == "symlink" || rule == "module path (trimpath)")
      d.warning = newer_than_binary(client_path, file);
    return d;
  }
  if (at.status == LookupStatus::kNoAddresses) {
    d.verdict = Verdict::kWrappersOnly;
    d.message = fmt::format(
        "Line {} has code only in compiler-generated wrappers, where the debugger does not stop.",
        line);
    return d;
  }
  no_code(d, client_path, file, line);
  return d;
}

void Diagnoser::not_mapped(Diagnosis& d, const std::string& client_path) {
  const std::string base = base_name(client_path).empty() ? client_path : base_name(client_path);
  if (!d.mapping.candidates.empty()) {
    std::vector<std::string> names;
    for (uint32_t f : d.mapping.candidates) names.emplace_back(v_.file_path(f));
    d.verdict = Verdict::kAmbiguous;
    d.closest = names;
    d.message = fmt::format(
        "{} matches several files of this binary ({}): add a substitutePath rule to pick one.",
        client_path, list(names));
    return;
  }
  if (base.ends_with("_test.go") && facts_.mode != "test" && !test_binary()) {
    d.verdict = Verdict::kTestFile;
    d.message = fmt::format(
        "{} is a test file, and this binary was not built by go test: debug it with mode \"test\".",
        base);
    return;
  }
  d.verdict = Verdict::kNotInBinary;
  d.closest = closest_files(client_path, 10);
  const auto& h = v_.header();
  std::string why = build_constraint(
      client_path,
      h.format == static_cast<uint8_t>(dlvidx::ObjectFormat::kMachO) ? "darwin" : "linux",
      h.arch == static_cast<uint8_t>(dlvidx::Arch::kArm64) ? "arm64" : "amd64");
  d.message = why.empty() ? fmt::format(
                                "{} is not in this binary: its package is not part of the "
                                "program, or build constraints leave the file out.",
                                base)
                          : fmt::format("{} is not in this binary: {}.", base, why);
  if (d.closest.empty())
    d.message += fmt::format(" No file of the binary is named {}.", base);
  else
    d.message += fmt::format(" Closest files in the binary: {}.", list(d.closest));
}

void Diagnoser::no_code(Diagnosis& d, const std::string& client_path, uint32_t file, int64_t line) {
  const auto& src = source(client_path);
  const GoFunc* fn = src && d.line ? enclosing_function(*src, d.line) : nullptr;
  if (src && !fn) {
    d.verdict = Verdict::kOutsideFunctions;
    d.message = fmt::format(
        "Line {} is outside every function: package-level declarations and imports have no code. "
        "Put the breakpoint on a line inside a function.",
        line);
    return;
  }
  if (fn) {
    d.function = fn->name;
    uint32_t last = fn->end_line ? fn->end_line : fn->decl_line;
    if (v_.lines_with_code(file, fn->decl_line, last).empty()) {
      d.verdict = Verdict::kNotCompiled;
      d.message = fmt::format(
          "Function {} was not compiled into this binary: nothing calls it, or it was inlined and "
          "optimized away. Rebuild with -gcflags=all=-N -l to keep it.",
          fn->name);
      return;
    }
    d.verdict = Verdict::kNoStatement;
    d.message = fmt::format("Line {} has no code, and no line after it in function {} has any.",
                            line, fn->name);
    return;
  }
  d.verdict = Verdict::kNoStatement;  // the source is not on this machine: the index alone
  d.message = fmt::format(
      "Line {} has no code in this binary, nor any line after it in its function.", line);
}

std::vector<std::string> Diagnoser::closest_files(const std::string& client_path,
                                                  size_t max) const {
  // Same base name; nearest first: the most directories in common from the end, then from the
  // start (a checkout of the same tree elsewhere shares its tail).
  const std::string base = base_name(client_path);
  auto want = components(client_path);
  std::vector<std::tuple<size_t, size_t, std::string>> scored;
  for (uint32_t f = 0; f < v_.n_files(); f++) {
    if (v_.file_base(f) != base) continue;
    std::string_view p = v_.file_path(f);
    auto have = components(p);
    size_t tail = 0, head = 0;
    while (tail < want.size() && tail < have.size() &&
           want[want.size() - 1 - tail] == have[have.size() - 1 - tail])
      tail++;
    while (head < want.size() && head < have.size() && want[head] == have[head]) head++;
    scored.emplace_back(tail, head, std::string(p));
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) > std::get<0>(b);
    if (std::get<1>(a) != std::get<1>(b)) return std::get<1>(a) > std::get<1>(b);
    return std::get<2>(a) < std::get<2>(b);
  });
  std::vector<std::string> out;
  for (auto& [t, h, p] : scored)
    if (out.size() < max) out.push_back(std::move(p));
  return out;
}

bool Diagnoser::test_binary() const {
  if (!test_binary_) {
    test_binary_ = false;
    for (uint32_t f = 0; f < v_.n_files() && !*test_binary_; f++)
      if (v_.file_base(f) == "_testmain.go" || v_.file_base(f).ends_with("_test.go"))
        test_binary_ = true;
  }
  return *test_binary_;
}

const std::optional<GoSource>& Diagnoser::source(const std::string& client_path) {
  auto it = sources_.find(client_path);
  if (it == sources_.end()) it = sources_.emplace(client_path, scan_go_file(client_path)).first;
  return it->second;
}

std::string Diagnoser::newer_than_binary(const std::string& client_path, uint32_t file) {
  if (!facts_.binary_mtime) return {};
  std::error_code ec;
  auto t = fs::last_write_time(client_path, ec);
  if (ec || t <= *facts_.binary_mtime || !lines_moved(client_path, file)) return {};
  return fmt::format(
      "{} was modified after the binary was built: this breakpoint may be on the wrong line. "
      "Rebuild to be sure.",
      base_name(client_path));
}

// A newer time alone proves nothing (a fresh clone, a checkout, a touch): the lines moved if a
// line with code in the binary is now blank, a // comment or past the end of the file.
bool Diagnoser::lines_moved(const std::string& client_path, uint32_t file) {
  std::error_code ec;
  auto t = fs::last_write_time(client_path, ec);
  auto it = moved_.find(client_path);
  if (it != moved_.end() && it->second.first == t) return it->second.second;
  std::vector<bool> no_code{false};  // by line number, 1-based
  std::ifstream in(client_path);
  uint64_t bytes = 0;
  for (std::string line; std::getline(in, line) && bytes < (16u << 20);) {
    bytes += line.size() + 1;
    size_t b = line.find_first_not_of(" \t\r");
    no_code.push_back(b == std::string::npos || line.compare(b, 2, "//") == 0);
  }
  bool moved = false;
  for (uint32_t l : v_.lines_with_code(file, 0, UINT32_MAX))
    if (l >= no_code.size() || no_code[l]) {
      moved = true;
      break;
    }
  moved_[client_path] = {t, moved};
  return moved;
}

}  // namespace dlvidx::index
