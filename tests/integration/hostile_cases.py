"""Hostile binaries (issue #6), generated at run time from real corpus binaries (nothing hostile is
checked in): truncation offsets and the mutated ELF, Mach-O and universal files. Each case is
(label, bytes or a thunk making them, expect): expect 'error' (exit 1 + one line naming the file),
'either' (also exit 0 allowed) or 'ok' (must index)."""
import random
import struct
import zlib

from dlvtest.objfile import CPU_ARM64, SHF_COMPRESSED, SHT_NOBITS, Elf, MachO, make_fat
from hostile_rows import MiB


def P(data, *patches, append=b""):
    """A thunk making data with each (offset, struct format, value) patched in, plus `append`: cases are
    materialized one at a time, never all at once."""
    def make():
        b = bytearray(data)
        for off, fmt, v in patches:
            struct.pack_into(fmt, b, off, v)
        return bytes(b) + append
    return make



def fat_of(body):
    """A universal file with one arm64 slice at 16 KiB."""
    return make_fat([(CPU_ARM64, body)])


_bombs = {}


def bomb(n_bytes):
    """A zlib stream of n_bytes zeros (deflate: ~1/1000 of that), made once."""
    if n_bytes not in _bombs:
        c = zlib.compressobj(9)
        chunk = b"\0" * (4 * MiB)
        parts, left = [], n_bytes
        while left:
            k = min(left, len(chunk))
            parts.append(c.compress(chunk[:k]))
            left -= k
        parts.append(c.flush())
        _bombs[n_bytes] = b"".join(parts)
    return _bombs[n_bytes]



def truncation_offsets(size, structure, seed, n_structure=120, n_random=24):
    """1..64; structure boundaries and one byte past them (every header field, load command, section
    header, section start/middle/end; evenly sampled down to n_structure); random offsets; all < size."""
    offs = set(range(1, 65))
    points = sorted({o + d for o in structure for d in (0, 1) if 64 < o + d < size})
    if len(points) > n_structure:
        points = [points[i * len(points) // n_structure] for i in range(n_structure)]
    offs.update(points)
    rng = random.Random(seed)
    while len(offs) < 64 + len(points) + n_random:
        offs.add(rng.randrange(65, size))
    return sorted(offs)


def elf_structure(e):
    pts = [16, 18, 20, 24, 32, 40, 48, 52, 54, 56, 58, 60, 62, 64]
    pts += [p["hdr"] for p in e.phdrs] + [p["hdr"] + 8 for p in e.phdrs] + [p["hdr"] + 32 for p in e.phdrs]
    pts += [s["hdr"] for s in e.sections] + [s["hdr"] + 24 for s in e.sections] + [s["hdr"] + 40 for s in e.sections]
    pts += [e.shoff + e.shnum * e.shentsize]
    for s in e.sections:
        if s["type"] != SHT_NOBITS and s["size"]:
            pts += [s["offset"], s["offset"] + s["size"] // 2, s["offset"] + s["size"] - 1]
            if s["flags"] & SHF_COMPRESSED:
                pts += [s["offset"] + 12, s["offset"] + 24, s["offset"] + 26]
    for p in e.phdrs:
        pts += [p["offset"] + p["filesz"] - 1]
    return pts


def macho_structure(m, base=0):
    pts = [base + o for o in (4, 8, 12, 16, 20, 24, 28, 32)]
    for c in m.cmds:
        pts += [c["off"], c["off"] + 4, c["off"] + 8, c["off"] + c["size"] // 2]
    for seg in m.segments:
        pts += [base + seg["fileoff"], base + seg["fileoff"] + seg["filesize"] // 2,
                base + seg["fileoff"] + seg["filesize"] - 1]
        for s in seg["sections"]:
            pts += [s["hdr"], s["hdr"] + 48]
            if s["offset"] and s["size"]:
                pts += [base + s["offset"], base + s["offset"] + 12, base + s["offset"] + s["size"] // 2,
                        base + s["offset"] + s["size"] - 1]
    return pts


def elf_header_cases(data, tag):
    """(label, bytes, expect): expect 'error' (exit 1 + message) or 'either' (also exit 0 allowed)."""
    e = Elf(data)
    size = len(data)
    U64 = (1 << 64) - 1
    c = []
    c.append((f"{tag}: ELF class 32", P(data, (4, "<B", 1)), "error"))
    c.append((f"{tag}: ELF big-endian", P(data, (5, "<B", 2)), "error"))
    c.append((f"{tag}: e_machine 3", P(data, (18, "<H", 3)), "error"))
    for v in (size, size + 1, U64, U64 - 63, (1 << 64) - e.shnum * e.shentsize + 64):
        c.append((f"{tag}: e_shoff {v:#x}", P(data, (0x28, "<Q", v & U64)), "error"))
    for v in (0, 0xffff, 0x8000):
        c.append((f"{tag}: e_shnum {v}", P(data, (0x3c, "<H", v)), "error"))
    c.append((f"{tag}: e_shnum +1", P(data, (0x3c, "<H", e.shnum + 1)), "either"))
    for v in (0, 1, 63, 0xffff):
        c.append((f"{tag}: e_shentsize {v}", P(data, (0x3a, "<H", v)), "error" if v < 64 else "either"))
    nobits = [s["i"] for s in e.sections if s["type"] == SHT_NOBITS]
    text = e.section(".text")["i"]
    for v in [0, e.shnum, 0xffff, 0xff00] + nobits:
        c.append((f"{tag}: e_shstrndx {v}", P(data, (0x3e, "<H", v)), "error"))
    c.append((f"{tag}: e_shstrndx -> .text", P(data, (0x3e, "<H", text)), "either"))
    for k in nobits:  # NOBITS sections' offsets are not checked against the file: must not be read either
        h = e.sections[k]["hdr"]
        c.append((f"{tag}: e_shstrndx -> NOBITS section {k} at offset 2^62",
                  P(data, (0x3e, "<H", k), (h + 24, "<Q", 1 << 62)), "error"))
        c.append((f"{tag}: NOBITS section {k} at offset 2^62", P(data, (h + 24, "<Q", 1 << 62)), "either"))
    st = e.shstrtab["hdr"]
    c.append((f"{tag}: .shstrtab turned SHT_NOBITS at offset 2^62",
              P(data, (st + 4, "<I", SHT_NOBITS), (st + 24, "<Q", 1 << 62)), "error"))
    for v in (size + 1, U64, U64 - 31):
        c.append((f"{tag}: e_phoff {v:#x}", P(data, (0x20, "<Q", v)), "error"))
    c.append((f"{tag}: e_phnum 0xffff", P(data, (0x38, "<H", 0xffff)), "error"))
    for v in (0, 8):
        c.append((f"{tag}: e_phentsize {v}", P(data, (0x36, "<H", v)), "error"))
    for p in e.phdrs:
        if p["type"] != 1:
            continue
        h = p["hdr"]
        c.append((f"{tag}: PT_LOAD {p['i']} p_offset beyond EOF", P(data, (h + 8, "<Q", size + 4096)), "error"))
        c.append((f"{tag}: PT_LOAD {p['i']} p_filesz huge", P(data, (h + 32, "<Q", U64)), "error"))
        c.append((f"{tag}: PT_LOAD {p['i']} p_offset+p_filesz wraps",
                  P(data, (h + 8, "<Q", U64 - 7), (h + 32, "<Q", 16)), "error"))
    # Every section: out of the file; a few important ones get every variant.
    important = {".debug_info", ".debug_line", ".debug_abbrev", ".debug_addr", ".debug_rnglists", ".shstrtab",
                 ".note.go.buildid", ".gopclntab", ".text"}
    for s in e.sections[1:]:
        h, nm = s["hdr"], s["name"]
        nobits = s["type"] == SHT_NOBITS
        exp = "either" if nobits else "error"
        c.append((f"{tag}: {nm} sh_offset = EOF+1", P(data, (h + 24, "<Q", size + 1)), exp))
        c.append((f"{tag}: {nm} sh_offset+sh_size wraps 2^64",
                  P(data, (h + 24, "<Q", U64 - 15), (h + 32, "<Q", 32)), exp))
        if nm not in important:
            continue
        c.append((f"{tag}: {nm} sh_offset 2^64-1", P(data, (h + 24, "<Q", U64)), "error"))
        c.append((f"{tag}: {nm} sh_size past EOF", P(data, (h + 32, "<Q", size - s["offset"] + 1)), "error"))
        c.append((f"{tag}: {nm} sh_size 2^64-1", P(data, (h + 32, "<Q", U64)), "error"))
        c.append((f"{tag}: {nm} sh_size wraps offset to 16",
                  P(data, (h + 32, "<Q", ((1 << 64) - s["offset"] + 16) & U64)), "error"))
        c.append((f"{tag}: {nm} sh_name 0xffffffff", P(data, (h, "<I", 0xffffffff)), "error"))
        c.append((f"{tag}: {nm} sh_name = len(.shstrtab)", P(data, (h, "<I", e.shstrtab["size"])), "error"))
        c.append((f"{tag}: {nm} sh_link 0xffffffff", P(data, (h + 40, "<I", 0xffffffff)), "either"))
        c.append((f"{tag}: {nm} SHT_NOBITS at offset 2^64-1",
                  P(data, (h + 4, "<I", SHT_NOBITS), (h + 24, "<Q", U64)), "either"))
    # Notes: sizes that run past the section.
    n = e.section(".note.go.buildid")
    for field, at in (("namesz", 0), ("descsz", 4)):
        for v in (0xffffffff, n["size"]):
            c.append((f"{tag}: .note.go.buildid {field} {v:#x}", P(data, (n["offset"] + at, "<I", v)), "error"))
    return c


def compressed_cases(data, tag):
    """SHF_COMPRESSED sections whose Elf64_Chdr lies, corrupt streams, zip bombs, and .zdebug_* sections."""
    e = Elf(data)
    size = len(data)
    U64 = (1 << 64) - 1
    c = []
    for nm in (".debug_info", ".debug_line", ".debug_abbrev"):
        s = e.section(nm)
        if not s or not s["flags"] & SHF_COMPRESSED:
            continue
        h, off, n = s["hdr"], s["offset"], s["size"]
        real, = struct.unpack_from("<Q", data, off + 8)
        for label, v in (("real-1", real - 1), ("real/2", real // 2), ("real+1", real + 1), ("2*real", 2 * real),
                         ("0", 0), ("1", 1), ("2^63", 1 << 63), ("2^64-1", U64), ("4 GiB+1", (4 << 30) + 1),
                         ("65*compressed", 65 * n), ("1025*compressed", 1025 * n)):
            c.append((f"{tag}: {nm} ch_size {label}", P(data, (off + 8, "<Q", v)), "error"))
        for v in (0, 2, 0xffffffff):
            c.append((f"{tag}: {nm} ch_type {v}", P(data, (off, "<I", v)), "error"))
        mid = off + 24 + (n - 24) // 2
        c.append((f"{tag}: {nm} zlib stream byte flipped", P(data, (mid, "<B", data[mid] ^ 0x55)), "error"))
        c.append((f"{tag}: {nm} zlib stream zeroed 64 bytes", P(data, (mid, "64s", b"\0" * 64)), "error"))
        c.append((f"{tag}: {nm} zlib header broken", P(data, (off + 24, "<H", 0xffff)), "error"))
        for k in (0, 8, 23, 24, 26, n // 2, n - 1):
            c.append((f"{tag}: {nm} sh_size {k} (stream cut)", P(data, (h + 32, "<Q", k)), "error"))
        c.append((f"{tag}: {nm} SHF_COMPRESSED cleared", P(data, (h + 8, "<Q", s["flags"] & ~SHF_COMPRESSED)), "error"))
        # Zip bombs, appended at the end of the file and pointed at.
        for label, n_zero, declared in (("64 MiB of zeros, declared honestly", 64 * MiB, 64 * MiB),
                                        ("64 MiB of zeros, declared 100 KiB", 64 * MiB, 100 << 10),
                                        ("64 MiB of zeros, declared 4 GiB", 64 * MiB, 4 << 30),
                                        ("5 GiB of zeros, declared 4 GiB", 5 << 30, 4 << 30),
                                        ("5 GiB of zeros, declared 5 GiB", 5 << 30, 5 << 30)):
            if nm != ".debug_info" and n_zero > 64 * MiB:
                continue
            z = struct.pack("<IIQQ", 1, 0, declared, 1) + bomb(n_zero)
            body = P(data, (h + 24, "<Q", size), (h + 32, "<Q", len(z)), append=z)
            c.append((f"{tag}: {nm} zip bomb: {label}", body, "error"))
    # A section that is not compressed but says it is.
    s = e.section(".debug_gdb_scripts") or e.section(".symtab")
    c.append((f"{tag}: {s['name']} with SHF_COMPRESSED over plain bytes",
              P(data, (s["hdr"] + 8, "<Q", s["flags"] | SHF_COMPRESSED)), "either"))
    return c


def zdebug_elf_cases(data, tag):
    """Old-style ELF .zdebug_* ("ZLIB" + big-endian size): a new .shstrtab with renamed sections is
    appended, and each section rewritten with the ZLIB header. The honest one must index."""
    e = Elf(data)
    U64 = (1 << 64) - 1
    names = bytearray(b"\0")
    name_off = {}
    for s in e.sections[1:]:
        nm = s["name"]
        if nm in (".debug_info", ".debug_line"):
            nm = ".z" + nm[1:]
        name_off[s["i"]] = len(names)
        names += nm.encode() + b"\0"
    b = bytearray(data)
    for s in e.sections[1:]:
        struct.pack_into("<I", b, s["hdr"], name_off[s["i"]])
    st = e.shstrtab
    struct.pack_into("<QQ", b, st["hdr"] + 24, len(b), len(names))
    b += names
    base = bytes(b)
    real = {}
    for nm in (".debug_info", ".debug_line"):
        s = e.section(nm)
        raw = data[s["offset"]:s["offset"] + s["size"]]
        plain = zlib.decompress(raw[24:])
        real[nm] = (s, zlib.compress(plain, 6), len(plain))

    def with_sections(overrides):
        out = bytearray(base)
        for nm, (s, z, n) in real.items():
            blob = overrides.get(nm, b"ZLIB" + struct.pack(">Q", n) + z)
            struct.pack_into("<QQQ", out, s["hdr"] + 8, s["flags"] & ~SHF_COMPRESSED, 0, len(out))
            struct.pack_into("<Q", out, s["hdr"] + 32, len(blob))
            out += blob
        return bytes(out)

    c = [(f"{tag}: .zdebug_info/.zdebug_line, honest (must index)", lambda: with_sections({}), "ok")]
    for nm in (".debug_info", ".debug_line"):
        s, z, n = real[nm]
        for label, v in (("real-1", n - 1), ("real+1", n + 1), ("0", 0), ("2^64-1", U64), ("4 GiB+1", (4 << 30) + 1)):
            c.append((f"{tag}: .z{nm[1:]} ZLIB size {label}",
                      lambda nm=nm, v=v, z=z: with_sections({nm: b"ZLIB" + struct.pack(">Q", v) + z}), "error"))
        c.append((f"{tag}: .z{nm[1:]} without ZLIB magic",
                  lambda nm=nm, n=n, z=z: with_sections({nm: b"ZLIX" + struct.pack(">Q", n) + z}), "error"))
        c.append((f"{tag}: .z{nm[1:]} shorter than its header", lambda nm=nm: with_sections({nm: b"ZLIB\0\0"}), "error"))
        c.append((f"{tag}: .z{nm[1:]} zip bomb 64 MiB declared honestly",
                  lambda nm=nm: with_sections({nm: b"ZLIB" + struct.pack(">Q", 64 * MiB) + bomb(64 * MiB)}), "error"))
    return c


def dwarf_cut_cases(data, tag):
    """Uncompressed DWARF sections cut short (sh_size shrunk) at many points: libdwarf sees truncated units."""
    e = Elf(data)
    c = []
    used = {".debug_info", ".debug_abbrev", ".debug_line", ".debug_str", ".debug_line_str", ".debug_ranges",
            ".debug_rnglists", ".debug_addr", ".debug_str_offsets"}  # preload/dwarf_sections.h kIndexSections
    for s in e.dwarf():
        if s["flags"] & SHF_COMPRESSED or s["name"] not in used:
            continue
        n = s["size"]
        cuts = sorted({0, 1, 4, 11, 12, 16, 40} | {n * k // 8 for k in range(1, 8)} | {n - 1})
        for k in cuts:
            if k < n:
                c.append((f"{tag}: {s['name']} cut to {k} of {n} bytes", P(data, (s["hdr"] + 32, "<Q", k)), "either"))
    return c


def macho_cases(data, tag):
    m = MachO(data)
    size = len(data)
    U64 = (1 << 64) - 1
    c = []
    c.append((f"{tag}: magic 0xfeedface (32-bit)", P(data, (0, "<I", 0xfeedface)), "error"))
    c.append((f"{tag}: cputype 7 (i386)", P(data, (4, "<I", 7)), "error"))
    c.append((f"{tag}: cputype 0xffffffff", P(data, (4, "<I", 0xffffffff)), "error"))
    for v in (0xffffffff, 0x7fffffff, size):
        c.append((f"{tag}: ncmds {v:#x}", P(data, (16, "<I", v)), "error"))
    c.append((f"{tag}: ncmds 0", P(data, (16, "<I", 0)), "error"))
    c.append((f"{tag}: ncmds +1", P(data, (16, "<I", m.ncmds + 1)), "either"))
    for v in (0xffffffff, size, size - 31):
        c.append((f"{tag}: sizeofcmds {v:#x}", P(data, (20, "<I", v)), "error"))
    for i, cmd in enumerate(m.cmds[:12]):
        o = cmd["off"]
        for v in (0, 4, 7, 0xffffffff, size):
            c.append((f"{tag}: load command {i} ({cmd['cmd']:#x}) cmdsize {v:#x}", P(data, (o + 4, "<I", v)), "error"))
        c.append((f"{tag}: load command {i} cmdsize +1 (misaligned)", P(data, (o + 4, "<I", cmd["size"] + 1)), "either"))
        if cmd["cmd"] == 0x19:
            c.append((f"{tag}: LC_SEGMENT_64 {i} cmdsize 56 (< 72)", P(data, (o + 4, "<I", 56)), "either"))
    for seg in m.segments:
        o, nm = seg["off"], seg["name"]
        c.append((f"{tag}: segment {nm} nsects 0xffffffff", P(data, (o + 64, "<I", 0xffffffff)), "error"))
        if seg["filesize"]:
            c.append((f"{tag}: segment {nm} fileoff beyond EOF", P(data, (o + 40, "<Q", size + 1)), "error"))
            c.append((f"{tag}: segment {nm} filesize 2^64-1", P(data, (o + 48, "<Q", U64)), "error"))
            c.append((f"{tag}: segment {nm} fileoff+filesize wraps",
                      P(data, (o + 40, "<Q", U64 - 7), (o + 48, "<Q", 16)), "error"))
        for s in seg["sections"]:
            if not s["offset"]:
                continue
            label = f"{tag}: section {nm},{s['name']}"
            c.append((f"{label} offset 0xffffffff", P(data, (s["hdr"] + 48, "<I", 0xffffffff)), "error"))
            c.append((f"{label} size 2^64-1", P(data, (s["hdr"] + 40, "<Q", U64)), "error"))
            c.append((f"{label} size past EOF", P(data, (s["hdr"] + 40, "<Q", size - s["offset"] + 1)), "error"))
    uuid = [cmd for cmd in m.cmds if cmd["cmd"] == 0x1b]
    if uuid:
        c.append((f"{tag}: LC_UUID cmdsize 8", P(data, (uuid[0]["off"] + 4, "<I", 8)), "either"))
    return c


def zdebug_macho_cases(data, tag):
    """Mach-O __zdebug_* sections ("ZLIB" + big-endian size): lies, corrupt streams, zip bombs."""
    m = MachO(data)
    size = len(data)
    U64 = (1 << 64) - 1
    c = []
    for nm in ("__zdebug_info", "__zdebug_line", "__zdebug_abbrev"):
        s = m.section(nm)
        if not s or data[s["offset"]:s["offset"] + 4] != b"ZLIB":
            continue
        off, n = s["offset"], s["size"]
        real, = struct.unpack_from(">Q", data, off + 4)
        for label, v in (("real-1", real - 1), ("real/2", real // 2), ("real+1", real + 1), ("2*real", 2 * real),
                         ("0", 0), ("2^63", 1 << 63), ("2^64-1", U64), ("4 GiB+1", (4 << 30) + 1),
                         ("1025*compressed", 1025 * n)):
            c.append((f"{tag}: {nm} ZLIB size {label}", P(data, (off + 4, ">Q", v)), "error"))
        c.append((f"{tag}: {nm} magic ZLIX", P(data, (off, "<4s", b"ZLIX")), "error"))
        mid = off + 12 + (n - 12) // 2
        c.append((f"{tag}: {nm} zlib stream byte flipped", P(data, (mid, "<B", data[mid] ^ 0x55)), "error"))
        c.append((f"{tag}: {nm} zlib stream zeroed 64 bytes", P(data, (mid, "64s", b"\0" * 64)), "error"))
        for k in (0, 4, 11, 12, 14, n // 2, n - 1):
            c.append((f"{tag}: {nm} size {k} (stream cut)", P(data, (s["hdr"] + 40, "<Q", k)), "error"))
        for label, n_zero, declared in (("64 MiB of zeros, declared honestly", 64 * MiB, 64 * MiB),
                                        ("64 MiB of zeros, declared 100 KiB", 64 * MiB, 100 << 10),
                                        ("5 GiB of zeros, declared 4 GiB", 5 << 30, 4 << 30)):
            if nm != "__zdebug_info" and n_zero > 64 * MiB:
                continue
            z = b"ZLIB" + struct.pack(">Q", declared) + bomb(n_zero)
            body = P(data, (s["hdr"] + 48, "<I", size), (s["hdr"] + 40, "<Q", len(z)), append=z)
            c.append((f"{tag}: {nm} zip bomb: {label}", body, "error"))
    return c


def fat_cases(body, elf, tag):
    U64 = (1 << 64) - 1
    fat = fat_of(body)
    size = len(fat)
    c = []

    def fat_header(n, entries, magic=b"\xca\xfe\xba\xbe"):
        return magic + n.to_bytes(4, "big") + b"".join(entries)

    def arch32(cpu, off, sz, align=14):
        return struct.pack(">IIIII", cpu, 0, off, sz, align)

    def arch64(cpu, off, sz, align=14):
        return struct.pack(">IIQQII", cpu, 0, off, sz, align, 0)

    def with_header(h):
        return lambda: h + fat[len(h):]

    arm = 0x0100000c
    for n in (0, 65, 0xffffffff, 2):  # 2: the second record is the zero padding (cpu 0, empty): harmless
        c.append((f"{tag}: nfat_arch {n:#x}", with_header(fat_header(n, [arch32(arm, 1 << 14, len(body))])),
                  "either" if n == 2 else "error"))
    for label, off, sz in (("offset = EOF", size, 32), ("offset EOF+1", size + 1, 32),
                           ("offset 0xffffffff", 0xffffffff, len(body)), ("size 0xffffffff", 1 << 14, 0xffffffff),
                           ("offset+size past EOF", 1 << 14, len(body) + 1), ("size 0", 1 << 14, 0),
                           ("size 16", 1 << 14, 16), ("offset 0 (the fat header itself)", 0, len(body)),
                           ("offset 8 (inside the fat header)", 8, 4096)):
        c.append((f"{tag}: slice {label}", with_header(fat_header(1, [arch32(arm, off, sz)])), "error"))
    for label, off, sz in (("offset 2^64-1", U64, 32), ("offset+size wraps", U64 - 15, 32),
                           ("size 2^64-1", 1 << 14, U64)):
        c.append((f"{tag}: fat64 slice {label}",
                  with_header(fat_header(1, [arch64(arm, off, sz)], b"\xca\xfe\xba\xbf")), "error"))
    c.append((f"{tag}: fat64 honest (must index)",
              with_header(fat_header(1, [arch64(arm, 1 << 14, len(body))], b"\xca\xfe\xba\xbf")), "ok"))
    c.append((f"{tag}: only slice has an unknown CPU", with_header(fat_header(1, [arch32(0x12, 1 << 14, len(body))])),
              "error"))
    c.append((f"{tag}: two arm64 slices, the same bytes",
              with_header(fat_header(2, [arch32(arm, 1 << 14, len(body)), arch32(arm, 1 << 14, len(body))])), "either"))
    c.append((f"{tag}: fat table cut (2 slices, file ends in the second)",
              fat_header(2, [arch32(arm, 1 << 14, 64)]) + b"\0" * 6, "error"))
    c.append((f"{tag}: slice is an ELF binary", lambda: fat_of(elf), "error"))
    c.append((f"{tag}: slice is another universal binary", lambda: fat_of(fat), "error"))
    return c
