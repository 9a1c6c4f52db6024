#include "index/prologue.h"

#include <capstone/capstone.h>

#include <array>
#include <string_view>
#include <vector>

namespace dlvidx::index {
namespace {

enum class Op { kOther, kMov, kCmp, kJbe, kLea, kJe, kSub, kLdr, kB, kAdd };

Op classify(Arch arch, std::string_view m) {
  if (arch == Arch::kX86_64) {
    if (m == "mov" || m == "movabs") return Op::kMov;  // x86asm.MOV covers both
    if (m == "cmp") return Op::kCmp;
    if (m == "jbe") return Op::kJbe;
    if (m == "lea") return Op::kLea;
    if (m == "je") return Op::kJe;
    if (m == "sub") return Op::kSub;
    return Op::kOther;
  }
  if (m == "mov") return Op::kMov;
  if (m == "cmp") return Op::kCmp;
  if (m == "b" || m.starts_with("b.")) return Op::kB;  // arm64asm.B includes B.cond
  if (m == "add") return Op::kAdd;
  if (m == "sub") return Op::kSub;
  if (m == "ldr") return Op::kLdr;
  return Op::kOther;
}

using Pattern = std::vector<Op>;

const std::vector<Pattern>& prologues(Arch arch) {
  static const std::vector<Pattern> amd64 = [] {
    const std::vector<Pattern> split = {
        {Op::kCmp, Op::kJbe},
        {Op::kLea, Op::kCmp, Op::kJbe},
        {Op::kMov, Op::kCmp, Op::kJe, Op::kLea, Op::kSub, Op::kCmp, Op::kJbe}};
    const std::vector<Pattern> get_g = {{Op::kMov}, {Op::kMov, Op::kMov}};
    std::vector<Pattern> out;
    for (const auto& g : get_g)
      for (const auto& s : split) {
        Pattern p = g;
        p.insert(p.end(), s.begin(), s.end());
        out.push_back(p);
      }
    return out;
  }();
  static const std::vector<Pattern> arm64 = [] {
    const std::vector<Pattern> split = {
        {Op::kMov, Op::kCmp, Op::kB},
        {Op::kSub, Op::kCmp, Op::kB},
        {Op::kCmp, Op::kB, Op::kAdd, Op::kSub, Op::kMov, Op::kCmp, Op::kB}};
    std::vector<Pattern> out;
    for (const auto& s : split) {
      Pattern p = {Op::kLdr};
      p.insert(p.end(), s.begin(), s.end());
      out.push_back(p);
    }
    return out;
  }();
  return arch == Arch::kX86_64 ? amd64 : arm64;
}

constexpr size_t kMaxPattern = 9;  // longest pattern + the instruction after it

}  // namespace

PrologueFinder::PrologueFinder(const ObjectFile& obj, const MappedFile& file)
    : obj_(obj), file_(file) {
  csh h = 0;
  cs_err e = obj.arch == Arch::kX86_64 ? cs_open(CS_ARCH_X86, CS_MODE_64, &h)
                                       : cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &h);
  ok_ = e == CS_ERR_OK;
  handle_ = h;
}

PrologueFinder::~PrologueFinder() {
  if (ok_) {
    csh h = handle_;
    cs_close(&h);
  }
}

uint64_t PrologueFinder::first_pc_after_prologue(const Function& fn, const LineTableQuery& lt) {
  if (auto pe = lt.prologue_end_pc(fn.entry, fn.end)) {
    if (lt.pc_to_line(fn.entry, fn.entry) == pe->line) return pe->pc;
  }
  uint64_t pc = by_disassembly(fn, lt);
  if (pc == fn.entry)
    if (auto st = lt.first_stmt(fn.entry, fn.end)) return st->pc;
  return pc;
}

uint64_t PrologueFinder::by_disassembly(const Function& fn, const LineTableQuery& lt) {
  if (!ok_ || fn.end <= fn.entry) return fn.entry;
  disassembled_++;
  const uint64_t max_len = obj_.arch == Arch::kX86_64 ? 15 : 4;
  uint64_t want = std::min<uint64_t>(fn.end - fn.entry, kMaxPattern * max_len);
  Bytes code = obj_.read_vaddr(file_, fn.entry, want);
  if (code.empty()) return fn.entry;  // Delve: memory read error -> entry

  struct Inst {
    uint64_t pc;
    Op op;
    uint32_t line;
  };
  std::vector<Inst> text;
  cs_insn* insn = cs_malloc(handle_);
  const uint8_t* p = code.data();
  size_t left = code.size();
  uint64_t pc = fn.entry;
  // Decode up to kMaxPattern instructions; an undecodable one counts as one
  // unknown instruction of 1 byte (amd64) or 4 bytes (arm64), as in Delve.
  while (left > 0 && text.size() < kMaxPattern) {
    const uint8_t* before = p;
    uint64_t at = pc;
    Op op = Op::kOther;
    if (cs_disasm_iter(handle_, &p, &left, &pc, insn)) {
      op = classify(obj_.arch, insn->mnemonic);
    } else {
      size_t skip = std::min<size_t>(left, obj_.arch == Arch::kX86_64 ? 1 : 4);
      p = before + skip;
      left -= skip;
      pc = at + skip;
    }
    text.push_back({at, op, lt.pc_to_line(fn.entry, at)});
  }
  cs_free(insn, 1);
  // Delve skips a pattern unless the function has more instructions than the
  // pattern; kMaxPattern instructions fit in the window, so `text` holds
  // either kMaxPattern instructions or the whole function.
  for (const Pattern& pat : prologues(obj_.arch)) {
    if (pat.size() >= text.size()) continue;
    bool match = true;
    for (size_t i = 0; i < pat.size() && match; i++)
      match = text[i].op == pat[i] && text[i].line == text[0].line;
    if (!match) continue;
    const Inst& r = text[pat.size()];
    if (r.line != text[0].line) return fn.entry;
    return r.pc;
  }
  return fn.entry;
}

}  // namespace dlvidx::index
