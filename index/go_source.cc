#include "index/go_source.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <utility>

namespace dlvidx::index {

namespace {

enum class Tok { Ident, Literal, Punct, Semi, Eof, Error };

struct Token {
  Tok kind = Tok::Eof;
  std::string_view text;  // identifiers (and punctuation, one or two bytes)
  uint32_t line = 0;
  bool is(char c) const { return kind == Tok::Punct && text.size() == 1 && text[0] == c; }
  bool is(std::string_view id) const { return kind == Tok::Ident && text == id; }
};

constexpr std::array<std::string_view, 25> kKeywords = {
    "break",  "case",        "chan", "const",   "continue", "default", "defer",
    "else",   "fallthrough", "for",  "func",    "go",       "goto",    "if",
    "import", "interface",   "map",  "package", "range",    "return",  "select",
    "struct", "switch",      "type", "var"};

bool is_ident_byte(unsigned char c) {
  // Bytes >= 0x80 are UTF-8 letters as far as token boundaries go.
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c >= 0x80;
}

// Go's automatic semicolon: after a line's final identifier, literal, break/continue/fallthrough/
// return, ++, --, ), ] or }. It is what ends a declaration without a body.
bool ends_statement(const Token& t) {
  if (t.kind == Tok::Literal) return true;
  if (t.kind == Tok::Ident) {
    if (std::find(kKeywords.begin(), kKeywords.end(), t.text) == kKeywords.end()) return true;
    return t.text == "break" || t.text == "continue" || t.text == "fallthrough" ||
           t.text == "return";
  }
  if (t.kind != Tok::Punct) return false;
  return t.is(')') || t.is(']') || t.is('}') || t.text == "++" || t.text == "--";
}

// A pull lexer with one token of push-back; keeps nothing but its position, so memory stays flat.
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // a byte order mark is allowed first
  }

  void unget(const Token& t) { back_ = t; }

  Token next() {
    if (back_) return std::exchange(back_, std::nullopt).value();
    Token t = scan();
    semi_pending_ = t.kind != Tok::Semi && ends_statement(t);
    return t;
  }

 private:
  Token make(Tok k, size_t b, size_t e, uint32_t line) { return {k, s_.substr(b, e - b), line}; }

  Token scan() {
    for (;;) {
      if (pos_ >= s_.size()) return make(semi_pending_ ? Tok::Semi : Tok::Eof, pos_, pos_, line_);
      char c = s_[pos_];
      if (c == '\n') {
        Token semi = make(Tok::Semi, pos_, pos_, line_);
        ++pos_, ++line_;
        if (semi_pending_) return semi;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (c == '/' && peek(1) == '/') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;  // the newline ends it, as a newline
      } else if (c == '/' && peek(1) == '*') {
        size_t end = s_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) return make(Tok::Error, pos_, pos_, line_);
        uint32_t start = line_;
        line_ += lines_in(end);
        pos_ = end + 2;
        // A comment spanning lines acts as a newline.
        if (line_ != start && semi_pending_) return make(Tok::Semi, pos_, pos_, start);
      } else {
        return token();
      }
    }
  }

  Token token() {
    size_t b = pos_;
    uint32_t line = line_;
    char c = s_[pos_];
    if (c == '\0') return make(Tok::Error, b, b, line);  // Go rejects NUL: binary, not source
    if (c == '"' || c == '\'') return quoted(c);
    if (c == '`') {
      size_t end = s_.find('`', pos_ + 1);
      if (end == std::string_view::npos) return make(Tok::Error, b, b, line);
      line_ += lines_in(end);
      pos_ = end + 1;
      return make(Tok::Literal, b, pos_, line);
    }
    bool digit = c >= '0' && c <= '9';
    if (digit || (c == '.' && peek(1) >= '0' && peek(1) <= '9')) {
      for (++pos_; pos_ < s_.size(); ++pos_) {
        char d = s_[pos_];
        char e = s_[pos_ - 1];
        bool exp_sign = (d == '+' || d == '-') && (e == 'e' || e == 'E' || e == 'p' || e == 'P');
        if (!is_ident_byte(d) && d != '.' && !exp_sign) break;
      }
      return make(Tok::Literal, b, pos_, line);
    }
    if (is_ident_byte(c)) {
      while (pos_ < s_.size() && is_ident_byte(s_[pos_])) ++pos_;
      return make(Tok::Ident, b, pos_, line);
    }
    pos_ += ((c == '+' || c == '-') && peek(1) == c) ? 2 : 1;  // ++ and -- end statements
    return make(Tok::Punct, b, pos_, line);
  }

  // An interpreted string or a rune: one line, backslash escapes the next byte.
  Token quoted(char q) {
    size_t b = pos_++;
    while (pos_ < s_.size() && s_[pos_] != q && s_[pos_] != '\n') {
      pos_ += (s_[pos_] == '\\' && pos_ + 1 < s_.size() && s_[pos_ + 1] != '\n') ? 2 : 1;
    }
    if (pos_ >= s_.size() || s_[pos_] != q) return make(Tok::Error, b, b, line_);
    ++pos_;
    return make(Tok::Literal, b, pos_, line_);
  }

  uint32_t lines_in(size_t end) const {
    return static_cast<uint32_t>(std::count(s_.begin() + pos_, s_.begin() + end, '\n'));
  }

  char peek(size_t k) const { return pos_ + k < s_.size() ? s_[pos_ + k] : '\0'; }

  std::string_view s_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
  bool semi_pending_ = false;
  std::optional<Token> back_;
};

char closer_of(const Token& t) {
  if (t.is('{')) return '}';
  if (t.is('(')) return ')';
  if (t.is('[')) return ']';
  return 0;
}

bool is_closer(const Token& t) { return t.is('}') || t.is(')') || t.is(']'); }

// Consumes up to the closer matching `open` (already read); the closer's line, or 0 if the group
// does not balance. `inside`, when given, receives the group's first tokens (a receiver's).
uint32_t skip_group(Lexer& lx, const Token& open, std::vector<Token>* inside = nullptr) {
  std::vector<char> want{closer_of(open)};
  for (;;) {
    Token t = lx.next();
    if (t.kind == Tok::Eof || t.kind == Tok::Error) return 0;
    if (char c = closer_of(t)) {
      want.push_back(c);
    } else if (is_closer(t)) {
      if (t.text[0] != want.back()) return 0;
      want.pop_back();
      if (want.empty()) return t.line;
    }
    if (inside && inside->size() < 64) inside->push_back(t);
  }
}

// "(*List[...])." / "T." from a receiver's tokens: an optional name, '*', the type, type params.
std::string receiver_prefix(const std::vector<Token>& r) {
  size_t i = 0;
  if (r.size() > 1 && r[0].kind == Tok::Ident &&
      (r[1].kind == Tok::Ident || r[1].is('*') || r[1].is('(')))
    i = 1;
  bool pointer = false;
  for (; i < r.size() && r[i].kind != Tok::Ident; ++i) pointer |= r[i].is('*');
  if (i == r.size()) return "";
  std::string type(r[i].text);
  if (i + 1 < r.size() && r[i + 1].is('[')) type += "[...]";
  return pointer ? "(*" + type + ")." : type + ".";
}

enum class Decl { Done, Unbalanced };

// After a top-level `func`: receiver, name, type parameters, parameters, results, then a body or
// the end of the declaration. A malformed header is left to the caller's scan.
Decl scan_func(Lexer& lx, uint32_t decl_line, std::vector<GoFunc>& out) {
  Token t = lx.next();
  std::string prefix;
  if (t.is('(')) {
    std::vector<Token> recv;
    if (!skip_group(lx, t, &recv)) return Decl::Unbalanced;
    prefix = receiver_prefix(recv);
    t = lx.next();
  }
  if (t.kind != Tok::Ident) return lx.unget(t), Decl::Done;
  GoFunc f{prefix + std::string(t.text), decl_line, 0};
  t = lx.next();
  if (t.is('[') && !skip_group(lx, t)) return Decl::Unbalanced;
  if (t.is('[')) t = lx.next();
  if (!t.is('(')) return lx.unget(t), Decl::Done;
  if (!skip_group(lx, t)) return Decl::Unbalanced;
  // Results until the body's '{'; a '{' right after struct/interface is a type's.
  Token prev = t;
  for (t = lx.next();; prev = t, t = lx.next()) {
    if (t.kind == Tok::Semi || t.kind == Tok::Eof || t.kind == Tok::Error) {
      out.push_back(f);  // no body
      return lx.unget(t), Decl::Done;
    }
    if (t.is('{') && !prev.is("struct") && !prev.is("interface")) {
      f.end_line = skip_group(lx, t);
      if (!f.end_line) return Decl::Unbalanced;
      out.push_back(f);
      return Decl::Done;
    }
    if (closer_of(t) && !skip_group(lx, t)) return Decl::Unbalanced;
    if (is_closer(t)) return Decl::Unbalanced;
  }
}

}  // namespace

std::optional<GoSource> scan_go_source(std::string_view text) {
  Lexer lx(text);
  if (!lx.next().is("package")) return std::nullopt;
  Token name = lx.next();
  if (name.kind != Tok::Ident) return std::nullopt;
  GoSource src{std::string(name.text), {}};
  bool decl_start = false;  // `func` opens a declaration only where a declaration may start
  for (;;) {
    Token t = lx.next();
    if (t.kind == Tok::Eof) return src;
    if (t.kind == Tok::Error || is_closer(t)) return std::nullopt;
    if (t.is("func") && decl_start) {
      if (scan_func(lx, t.line, src.funcs) == Decl::Unbalanced) return std::nullopt;
    } else if (closer_of(t) && !skip_group(lx, t)) {
      return std::nullopt;
    }
    decl_start = t.kind == Tok::Semi || t.is(';');
  }
}

const GoFunc* enclosing_function(const GoSource& src, uint32_t line) {
  // Top-level declarations never overlap: the last one starting at or before `line`.
  auto it = std::upper_bound(src.funcs.begin(), src.funcs.end(), line,
                             [](uint32_t l, const GoFunc& f) { return l < f.decl_line; });
  if (it == src.funcs.begin()) return nullptr;
  --it;
  return line <= it->end_line ? &*it : nullptr;
}

std::optional<GoSource> scan_go_file(const std::string& path) {
  constexpr uintmax_t kMax = 16u << 20;
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);  // fails for directories and devices
  if (ec || size > kMax) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  // One byte more than stat said: a file growing while it is read is refused, never cut short.
  std::string text(static_cast<size_t>(size) + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad() || static_cast<uintmax_t>(in.gcount()) > size) return std::nullopt;
  text.resize(static_cast<size_t>(in.gcount()));
  return scan_go_source(text);
}

}  // namespace dlvidx::index
