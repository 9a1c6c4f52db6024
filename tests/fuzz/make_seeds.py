#!/usr/bin/env python3
"""Write the seed corpora of the object fuzz targets (tests/fuzz/corpus/).

Real Go binaries are megabytes; a seed must stay under ~64 KiB. So this cuts
real compilers' output down instead of inventing DWARF:

  go-*        a corpus Go binary (tests/corpus/corpus.py) reduced to a few
              compile units: their .debug_info units (DW_AT_stmt_list and
              DW_FORM_ref_addr references patched to the new offsets), their
              line programs, the shared .debug_abbrev/.debug_addr/range
              sections, the text of their functions in one PT_LOAD segment,
              and the Go build ID note and .go.buildinfo. DWARF 5 (Go 1.27) and
              DWARF 4 (Go 1.22), plain and optimized (inlined calls).
  c-*         tiny C programs built with gcc and clang (-nostdlib -static):
              DWARF 4 and 5, .debug_str/.debug_line_str/.debug_str_offsets,
              SHF_COMPRESSED sections (-gz), inlining (-O2).
  macho-*     a Mach-O 64 and a universal binary wrapping a Go seed's
              sections, as __DWARF,__zdebug_* ("ZLIB" + size + zlib) and
              __debug_*, with LC_UUID and Go's build ID at the start of __text.

fuzz_index_load gets the index images `dlvidx build` makes of the Go seeds,
and fuzz_dap_frames a few client sessions written out below (the last byte
of each picks how the stream is cut into reads).

Usage: tests/fuzz/make_seeds.py [--out tests/fuzz/corpus] [--dlvidx build/release/tools/dlvidx]
(needs gcc, clang-14, Go; crash-* regression inputs are left as they are)
"""
import argparse
import glob
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from dlvtest import objfile  # noqa: E402 (ELF / Mach-O / universal files: tests/lib/dlvtest)
CORPUS_PY = os.path.join(HERE, "..", "corpus", "corpus.py")
MAX_SEED = 64 * 1024

# --- a small DWARF walker: enough to find and patch attributes ------------------

def uleb(b, p):
    v = s = 0
    while True:
        c = b[p]; p += 1
        v |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return v, p

def abbrevs(b, off):
    table = {}
    while True:
        code, off = uleb(b, off)
        if code == 0:
            return table
        tag, off = uleb(b, off)
        children = b[off]; off += 1
        attrs = []
        while True:
            at, off = uleb(b, off)
            form, off = uleb(b, off)
            if form == 0x21:  # DW_FORM_implicit_const: the value is here, not in the DIE
                off = uleb(b, off)[1]
            if at == 0 and form == 0:
                break
            attrs.append((at, form))
        table[code] = (tag, children, attrs)

FIXED = {0x0b: 1, 0x05: 2, 0x06: 4, 0x07: 8, 0x0c: 1, 0x11: 1, 0x12: 2, 0x13: 4, 0x14: 8, 0x0e: 4,
         0x17: 4, 0x10: 4, 0x1f: 4, 0x19: 0, 0x20: 8, 0x1e: 16, 0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4,
         0x29: 1, 0x2a: 2, 0x2b: 3, 0x2c: 4, 0x21: 0, 0x1d: 4, 0x1c: 4}
ULEB = {0x0f, 0x0d, 0x15, 0x1a, 0x1b, 0x22, 0x23}
BLOCK = {0x0a: 1, 0x03: 2, 0x04: 4}

def walk_unit(info, start, abbrev):
    """Yields (tag, attr, form, value, value_offset) for every attribute of one unit."""
    length, = struct.unpack_from("<I", info, start)
    end = start + 4 + length
    version, = struct.unpack_from("<H", info, start + 4)
    if version >= 5:
        _, addr_size, abbr = struct.unpack_from("<BBI", info, start + 6)
        p = start + 12
    else:
        abbr, addr_size = struct.unpack_from("<IB", info, start + 6)
        p = start + 11
    table = abbrevs(abbrev, abbr)
    while p < end:
        code, p = uleb(info, p)
        if code == 0:
            continue
        tag, _, attrs = table[code]
        for at, form in attrs:
            q = p
            if form == 0x01:
                p += addr_size
            elif form == 0x08:
                p = info.index(b"\0", p) + 1
            elif form in FIXED:
                p += FIXED[form]
            elif form in ULEB:
                _, p = uleb(info, p)
            elif form in BLOCK:
                n = int.from_bytes(info[p:p + BLOCK[form]], "little")
                p += BLOCK[form] + n
            elif form in (0x09, 0x18):  # block, exprloc
                n, p = uleb(info, p)
                p += n
            else:
                raise ValueError(f"form {form:#x} not handled")
            yield tag, at, form, info[q:p], q

def units(info):
    off = 0
    while off < len(info):
        length, = struct.unpack_from("<I", info, off)
        yield off, 4 + length
        off += 4 + length

# --- ELF writing -----------------------------------------------------------------

def write_elf(sections, texts, machine=62, compress=False):
    """sections: [(name, type, flags, addr, bytes)]; texts: [(addr, bytes)], each
    a .text section in its own PT_LOAD segment (file offset = address mod 64)."""
    names = b"\0"
    all_secs = [(".text", 1, 0x6, a, b) for a, b in texts] + sections + [(".shstrtab", 3, 0, 0, b"")]
    phnum = len(texts)
    out = bytearray(64 + 56 * phnum)
    hdrs, loads = [b"\0" * 64], []
    for name, typ, flags, addr, b in all_secs:
        name_off = len(names)
        names += name.encode() + b"\0"
        if name == ".shstrtab":
            b = names
        if compress and name.startswith(".debug_"):
            b = struct.pack("<IIQQ", 1, 0, len(b), 1) + zlib.compress(b, 9)
            flags |= 0x800
        out += b"\0" * ((addr - len(out)) % 64 if name == ".text" else -len(out) % 8)
        if name == ".text":
            loads.append(struct.pack("<IIQQQQQQ", 1, 5, len(out), addr, addr, len(b), len(b), 64))
        hdrs.append(struct.pack("<IIQQQQIIQQ", name_off, typ, flags, addr, len(out), len(b), 0, 0, 1, 0))
        out += b
    out += b"\0" * (-len(out) % 8)
    shoff = len(out)
    out += b"".join(hdrs)
    struct.pack_into("<4sBBBBxxxxxxxxHHIQQQIHHHHHH", out, 0, b"\x7fELF", 2, 1, 1, 0, 2, machine, 1,
                     texts[0][0], 64, shoff, 0, 64, 56, phnum, 64, len(hdrs), len(hdrs) - 1)
    out[64:64 + 56 * phnum] = b"".join(loads)
    return bytes(out)

# --- Go: a few units of a real binary ----------------------------------------------

def go_seed(binary, cu_names, compress=False):
    data = open(binary, "rb").read()
    s = objfile.Elf(data).inflated()  # name -> (flags, addr, bytes, type)
    info, abbrev, line = s[".debug_info"][2], s[".debug_abbrev"][2], s[".debug_line"][2]
    keep, new_off, new_info, new_line = [], {}, bytearray(), bytearray()
    for off, size in units(info):
        name = next((v[:-1].decode() for t, a, f, v, q in walk_unit(info, off, abbrev)
                     if t == 0x11 and a == 0x03), None)
        if name in cu_names:
            keep.append((off, size))
            new_off[off] = len(new_info)
            new_info += info[off:off + size]
    addr = s.get(".debug_addr", (0, 0, b""))[2]
    rnglists, ranges = s.get(".debug_rnglists", (0, 0, b""))[2], s.get(".debug_ranges", (0, 0, b""))[2]
    new_addr, new_rnglists, new_ranges = bytearray(), bytearray(), bytearray()

    # Go writes one .debug_addr table for all units, each unit using the
    # slice from its DW_AT_addr_base to the next unit's.
    bases = sorted({int.from_bytes(v, "little") for o, _ in units(info)
                    for t, a, f, v, q in walk_unit(info, o, abbrev) if a == 0x73} | {len(addr)})

    def addr_slice(base):
        if not new_addr:
            new_addr.extend(struct.pack("<IHBB", 0, 5, 8, 0))
        pos = len(new_addr)
        new_addr.extend(addr[base:bases[bases.index(base) + 1]])
        struct.pack_into("<I", new_addr, 0, len(new_addr) - 4)
        return pos

    def rnglist(tgt):  # one DWARF 5 range list, entry by entry up to DW_RLE_end_of_list
        if not new_rnglists:
            new_rnglists.extend(struct.pack("<IHBBI", 0, 5, 8, 0, 0))
        pos, o = len(new_rnglists), tgt
        while True:
            kind, p = rnglists[o], o + 1
            for operand in {0: "", 1: "u", 2: "uu", 3: "uu", 4: "uu", 5: "8", 6: "88", 7: "8u"}[kind]:
                p = uleb(rnglists, p)[1] if operand == "u" else p + 8
            new_rnglists.extend(rnglists[o:p])
            o = p
            if kind == 0:
                break
        struct.pack_into("<I", new_rnglists, 0, len(new_rnglists) - 4)
        return pos

    def range_list(tgt):  # DWARF 4 .debug_ranges: pairs up to (0, 0)
        pos, o = len(new_ranges), tgt
        while o + 16 <= len(ranges):
            new_ranges.extend(ranges[o:o + 16])
            o += 16
            if ranges[o - 16:o] == bytes(16):
                break
        return pos

    text_addr, text_bytes = s[".text"][1], s[".text"][2]
    fns = []
    for off, size in keep:
        base = new_off[off]
        addr_base, fn_lo = 0, 0
        for tag, at, form, v, q in walk_unit(info, off, abbrev):
            pos = base + (q - off)
            put = lambda x: new_info.__setitem__(slice(pos, pos + 4), struct.pack("<I", x))
            if at == 0x10:  # DW_AT_stmt_list: move its line program
                old = int.from_bytes(v, "little")
                put(len(new_line))
                new_line += line[old:old + 4 + struct.unpack_from("<I", line, old)[0]]
            elif form == 0x10:  # DW_FORM_ref_addr: into a kept unit, or left dangling
                tgt = int.from_bytes(v, "little")
                for o, z in keep:
                    if o <= tgt < o + z:
                        put(new_off[o] + tgt - o)
            elif at == 0x73:  # DW_AT_addr_base
                addr_base = int.from_bytes(v, "little")
                put(addr_slice(addr_base))
            elif at == 0x55 and form == 0x17:  # DW_AT_ranges
                tgt = int.from_bytes(v, "little")
                put(rnglist(tgt) if rnglists else range_list(tgt))
            elif tag == 0x2E and at == 0x11:  # a function's low_pc (address or index)
                i = uleb(v, 0)[0] if form == 0x1B else int.from_bytes(v, "little")
                fn_lo = i if form == 0x01 else struct.unpack_from("<Q", addr, addr_base + 8 * i)[0]
            elif tag == 0x2E and at == 0x12:  # high_pc: an address, or the size
                fns.append((fn_lo, int.from_bytes(v, "little") + (0 if form == 0x01 else fn_lo)))
    # The functions' text (what the prologue check disassembles), neighbours merged.
    texts = []
    for lo, hi in sorted(fns):
        if texts and lo - texts[-1][1] <= 64:
            texts[-1][1] = max(texts[-1][1], hi)
        else:
            texts.append([lo, hi])
    texts = [(lo, text_bytes[lo - text_addr:hi - text_addr]) for lo, hi in texts]
    secs = [(n, t, f, a, b) for n, (f, a, b, t) in s.items() if n in (".note.go.buildid", ".go.buildinfo")]
    secs += [(".debug_abbrev", 1, 0, 0, abbrev), (".debug_info", 1, 0, 0, bytes(new_info)),
             (".debug_line", 1, 0, 0, bytes(new_line))]
    for name, b in ((".debug_addr", new_addr), (".debug_rnglists", new_rnglists), (".debug_ranges", new_ranges)):
        if name in s:
            secs.append((name, 1, 0, 0, bytes(b)))
    return write_elf(secs, texts, compress=compress), secs, texts[0]

# --- Mach-O -------------------------------------------------------------------------

def macho(secs, text, cpu):
    """A Mach-O 64 executable: __TEXT,__text and __DWARF with some sections zlib'd."""
    text_addr, text = text
    build_id = b'\xff Go build ID: "fuzzseed/fuzzseed"\n \xff'
    text = build_id + text[len(build_id):]
    dwarf = []
    for name, _, _, _, b in secs:
        if not name.startswith(".debug_"):
            continue
        short = name[len(".debug_"):]
        if name in (".debug_info", ".debug_line"):  # Go's default: "ZLIB" + big-endian size
            dwarf.append((("__zdebug_" + short)[:16], b"ZLIB" + struct.pack(">Q", len(b)) + zlib.compress(b, 9)))
        else:
            dwarf.append((("__debug_" + short)[:16], b))
    ncmds = 3
    sizeofcmds = (72 + 80) + (72 + 80 * len(dwarf)) + 24
    off = 32 + sizeofcmds
    off += -off % 16
    body = bytearray()
    def place(b):
        nonlocal body
        pos = off + len(body)
        body += b + b"\0" * (-len(b) % 8)
        return pos
    text_off = place(text)
    dwarf_placed = [(n, place(b), len(b)) for n, b in dwarf]
    cmds = bytearray()
    cmds += struct.pack("<II16sQQQQIIII", 0x19, 72 + 80, b"__TEXT", text_addr, len(text), text_off, len(text), 5, 5, 1, 0)
    cmds += struct.pack("<16s16sQQIIIIIIII", b"__text", b"__TEXT", text_addr, len(text), text_off, 0, 0, 0, 0, 0, 0, 0)
    dstart = dwarf_placed[0][1]
    dsize = off + len(body) - dstart
    cmds += struct.pack("<II16sQQQQIIII", 0x19, 72 + 80 * len(dwarf), b"__DWARF", 0, 0, dstart, dsize, 0, 0, len(dwarf), 0)
    for n, pos, size in dwarf_placed:
        cmds += struct.pack("<16s16sQQIIIIIIII", n.encode(), b"__DWARF", 0, size, pos, 0, 0, 0, 0, 0, 0, 0)
    cmds += struct.pack("<II16s", 0x1B, 24, bytes(range(16)))
    hdr = struct.pack("<IIIIIIII", 0xFEEDFACF, cpu, 3, 2, ncmds, len(cmds), 0x200085, 0)
    out = hdr + cmds
    return out + b"\0" * (off - len(out)) + body

def fat(slices):
    """Universal binary (big-endian fat_header + fat_arch), slices aligned to 4 KiB."""
    return objfile.make_fat(slices, align=12)

# --- C --------------------------------------------------------------------------------

C_PROGRAM = r"""
static int square(int x) { return x * x; }
__attribute__((noinline)) int sum(const int* v, int n) {
  int s = 0;
  for (int i = 0; i < n; i++)
    s += square(v[i]);
  return s;
}
int values[4] = {1, 2, 3, 4};
void _start(void) {
  volatile int r = sum(values, 4);
  (void)r;
  for (;;) {}
}
"""

def c_seeds(tmp):
    src = os.path.join(tmp, "prog.c")
    open(src, "w").write(C_PROGRAM)
    variants = {"c-gcc-dwarf5": ["gcc", "-g", "-O0"], "c-gcc-dwarf4-O2": ["gcc", "-gdwarf-4", "-O2"],
                "c-gcc-gz": ["gcc", "-g", "-O1", "-gz=zlib"], "c-clang-dwarf5-O2": ["clang-14", "-g", "-O2"],
                "c-clang-dwarf4": ["clang-14", "-gdwarf-4", "-O0"]}
    out = {}
    for name, cmd in variants.items():
        exe = os.path.join(tmp, name)
        subprocess.run(cmd + ["-nostdlib", "-static", "-fno-asynchronous-unwind-tables", "-Wl,--build-id", "-Wl,-n", "-Wl,--no-warn-rwx-segments",
                              "-o", exe, src], check=True)
        subprocess.run(["objcopy", "--remove-section=.comment", exe], check=True)
        out[name] = open(exe, "rb").read()
    return out

# --- DAP client streams ---------------------------------------------------------------

def frames(*msgs):
    out = b""
    for m in msgs:
        body = json.dumps(m, separators=(",", ":")).encode() if isinstance(m, dict) else m
        out += b"Content-Length: %d\r\n\r\n" % len(body) + body
    return out

def req(seq, command, **arguments):
    return {"seq": seq, "type": "request", "command": command, "arguments": arguments}

SRC = {"name": "f.go", "path": "/home/u/w/mod/pkg/f.go"}
DAP_SEEDS = {
    "session": frames(
        req(1, "initialize", adapterID="go", linesStartAt1=True),
        req(2, "launch", mode="exec", program="/tmp/prog", substitutePath=[{"from": "/ws", "to": "/home/u/w"}]),
        req(3, "setBreakpoints", source=SRC, breakpoints=[{"line": 3}, {"line": 5, "condition": "x > 1"},
                                                         {"line": 7, "hitCondition": "2"}, {"line": 12, "logMessage": "{x}"}]),
        req(4, "breakpointLocations", source={"path": "/ws/mod/main.go"}, line=1, endLine=300),
        req(5, "setInstructionBreakpoints", breakpoints=[{"instructionReference": "0x401030", "condition": "y"}]),
        req(6, "configurationDone"), req(7, "disconnect", terminateDebuggee=True)) + b"\x05",
    "path-shapes": frames(
        req(1, "attach", mode="local", processId=1, substitutePath=[{"from": "", "to": "x"}]),
        req(2, "setBreakpoints", source={"path": "example.com/mod/pkg/f.go"}, lines=[3, 4, 5]),
        req(3, "setBreakpoints", source={"path": "/elsewhere/pkg/f.go"}, breakpoints=[{"line": 0}, {"line": -1}, {"line": 4294967296}]),
        req(4, "setBreakpoints", source={"path": "c:/src/mod/main.go"}, breakpoints=[{"line": 200.0}]),
        req(5, "setBreakpoints", source={"path": "/a/b/print.go"}, breakpoints=[{"line": 7}]),
        req(6, "breakpointLocations", source={"path": "fmt/print.go"}, line=4294967295, endLine=1)) + b"\x01",
    "from-dlv": frames(
        {"seq": 0, "type": "response", "request_seq": 1, "success": True, "command": "initialize",
         "body": {"supportsInstructionBreakpoints": True}},
        {"seq": 0, "type": "event", "event": "stopped", "body": {"reason": "instruction breakpoint", "hitBreakpointIds": [1, 2]}},
        {"seq": 0, "type": "event", "event": "breakpoint", "body": {"reason": "changed", "breakpoint": {"id": 1, "verified": True}}}) + b"\x0d",
    "framing": (b"Content-Length:   12 \r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"
                b'{"type":"x"}' + b"Content-Length: 0\r\n\r\n" + frames(b"[1,2]", b'{"type":1}', b'{"type":"request","command":"\xc3\xa9"}')
                + b"X-Other:1\r\nContent-Length: 2\r\n\r\n{}" + b"\x00"),
    "bad-length": frames(req(1, "initialize")) + b"Content-Length: 1\r\nContent-Length: 1\r\n\r\n{" + b"\x0b",
}

# ------------------------------------------------------------------------------------

def corpus_path(name):
    return subprocess.run([sys.executable, CORPUS_PY, "path", name], check=True, capture_output=True,
                          text=True).stdout.strip()

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    ap.add_argument("--dlvidx", default=os.path.join(HERE, "..", "..", "build", "release", "tools", "dlvidx"))
    args = ap.parse_args()
    seeds = {}
    small = ["example.com/dlvidx-example/shapes"]
    for go in ("go127", "go122"):
        plain = corpus_path(f"example-{go}-linux-amd64")
        opt = corpus_path(f"example-{go}-linux-amd64+opt")
        seeds[f"go-{go}-shapes"], secs, text = go_seed(plain, small)
        seeds[f"go-{go}-store"] = go_seed(plain, ["example.com/dlvidx-example/store"])[0]
        seeds[f"go-{go}-opt-main-shapes"] = go_seed(opt, ["main"] + small)[0]
        if go == "go127":
            seeds["go-go127-shapes-compressed"] = go_seed(plain, small, compress=True)[0]
            arm = macho(secs, text, 0x0100000C)
            seeds["macho-go127-shapes-arm64"] = arm
            seeds["macho-fat-x86_64-arm64"] = fat([(0x01000007, macho(secs, text, 0x01000007)),
                                                    (0x0100000C, arm)])
    with tempfile.TemporaryDirectory() as tmp:
        seeds.update(c_seeds(tmp))
    for target in ("fuzz_object", "fuzz_index_build"):
        for name, b in seeds.items():
            if target == "fuzz_index_build" and name.startswith(("macho-fat", "go-go127-shapes-compressed")):
                continue  # inflation and slices are fuzz_object's
            write(args.out, target, name, b)
    for name, b in DAP_SEEDS.items():
        write(args.out, "fuzz_dap_frames", name, b)
    # Index images of the Go seeds (and one of a C seed: a non-Go index).
    with tempfile.TemporaryDirectory() as cache:
        for name in ("go-go127-shapes", "go-go122-store", "go-go127-opt-main-shapes", "macho-go127-shapes-arm64"):
            path = os.path.join(cache, name)
            open(path, "wb").write(seeds[name])
            subprocess.run([args.dlvidx, "build", "--cache-dir", cache, "--no-prefault", path], check=True,
                           stdout=subprocess.DEVNULL)
            idx, = glob.glob(os.path.join(cache, "*.idx"))
            write(args.out, "fuzz_index_load", name + ".idx", open(idx, "rb").read())
            os.remove(idx)

def write(out, target, name, b):
    assert len(b) <= MAX_SEED, f"{name}: {len(b)} bytes"
    os.makedirs(os.path.join(out, target), exist_ok=True)
    open(os.path.join(out, target, name), "wb").write(b)
    print(f"{target}/{name}: {len(b)} bytes")

if __name__ == "__main__":
    main()
