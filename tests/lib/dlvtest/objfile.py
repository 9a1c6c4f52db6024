"""Object file layouts: ELF64 (little-endian), Mach-O 64 and universal (fat) files.

One reader for the tests (the hostile-input generators aim their mutations with it, the fuzz seed
maker cuts binaries down with it) and the writer of universal files. Enough of each format to find
headers, sections and segments; nothing is validated: the tests feed it dlvidx's own corpus."""
import struct
import zlib

SHT_NOBITS = 8
PT_LOAD = 1
SHF_COMPRESSED = 0x800

MH_MAGIC_64 = 0xfeedfacf
LC_SEGMENT_64 = 0x19
LC_UUID = 0x1b
FAT_MAGIC = 0xcafebabe
FAT_MAGIC_64 = 0xcafebabf
CPU_X86_64 = 0x01000007
CPU_ARM64 = 0x0100000c


def kind(data):
    """'elf', 'macho', 'fat' or None, from the magic."""
    if data[:4] == b"\x7fELF":
        return "elf"
    if data[:4] == struct.pack("<I", MH_MAGIC_64):
        return "macho"
    if data[:4] in (struct.pack(">I", FAT_MAGIC), struct.pack(">I", FAT_MAGIC_64)):
        return "fat"
    return None


class Elf:
    """sections: dicts i, hdr (offset of the section header), name_off, type, flags, addr, offset, size,
    name; phdrs: dicts i, hdr, type, offset, filesz; shstrtab: the section of the section names."""

    def __init__(self, data):
        self.data = data
        (self.phoff, self.shoff) = struct.unpack_from("<QQ", data, 0x20)
        (self.phentsize, self.phnum, self.shentsize, self.shnum,
         self.shstrndx) = struct.unpack_from("<HHHHH", data, 0x36)
        self.sections = []
        for i in range(self.shnum):
            h = self.shoff + i * self.shentsize
            name, typ, flags, addr, off, size = struct.unpack_from("<IIQQQQ", data, h)
            self.sections.append(dict(i=i, hdr=h, name_off=name, type=typ, flags=flags, addr=addr, offset=off,
                                      size=size))
        self.shstrtab = self.sections[self.shstrndx]
        for s in self.sections:
            o = self.shstrtab["offset"] + s["name_off"]
            s["name"] = data[o:data.index(b"\0", o)].decode()
        self.phdrs = []
        for i in range(self.phnum):
            h = self.phoff + i * self.phentsize
            typ, flags, off, vaddr, paddr, filesz = struct.unpack_from("<IIQQQQ", data, h)
            self.phdrs.append(dict(i=i, hdr=h, type=typ, offset=off, filesz=filesz))

    def section(self, name):
        for s in self.sections:
            if s["name"] == name:
                return s
        return None

    def dwarf(self):
        return [s for s in self.sections if s["name"].startswith(".debug_") and s["size"] > 0]

    def needed_end(self):
        """Where the last byte any header, section or loaded segment needs ends."""
        ends = [s["offset"] + s["size"] for s in self.sections if s["type"] != SHT_NOBITS]
        ends += [p["offset"] + p["filesz"] for p in self.phdrs if p["type"] == PT_LOAD]
        ends.append(self.shoff + self.shnum * self.shentsize)
        return max(ends)

    def contents(self, s):
        """A section's bytes (none for SHT_NOBITS), SHF_COMPRESSED ones inflated (Elf64_Chdr, zlib)."""
        b = self.data[s["offset"]:s["offset"] + s["size"]] if s["type"] != SHT_NOBITS else b""
        if s["flags"] & SHF_COMPRESSED:
            b = zlib.decompress(b[24:])
        return b

    def inflated(self):
        """name -> (flags without SHF_COMPRESSED, addr, contents, type) of every section but the null one."""
        return {s["name"]: (s["flags"] & ~SHF_COMPRESSED, s["addr"], self.contents(s), s["type"])
                for s in self.sections[1:]}


class MachO:
    """A Mach-O 64 image at `base` in data (a universal file's slice: its offset). cmds: dicts off, cmd,
    size; segments: dicts off, name, fileoff, filesize, nsects, sections (dicts hdr, name, seg, size,
    offset). Offsets in headers are relative to base, the `off`/`hdr` ones absolute."""

    def __init__(self, data, base=0):
        self.data, self.base = data, base
        self.ncmds, self.sizeofcmds = struct.unpack_from("<II", data, base + 16)
        self.cmds, self.segments = [], []
        off = base + 32
        for _ in range(self.ncmds):
            cmd, cmdsize = struct.unpack_from("<II", data, off)
            self.cmds.append(dict(off=off, cmd=cmd, size=cmdsize))
            if cmd == LC_SEGMENT_64:
                segname = data[off + 8:off + 24].rstrip(b"\0").decode()
                fileoff, filesize = struct.unpack_from("<QQ", data, off + 40)
                nsects, = struct.unpack_from("<I", data, off + 64)
                seg = dict(off=off, name=segname, fileoff=fileoff, filesize=filesize, nsects=nsects, sections=[])
                for k in range(nsects):
                    so = off + 72 + 80 * k
                    sect = data[so:so + 16].rstrip(b"\0").decode()
                    size, = struct.unpack_from("<Q", data, so + 40)
                    offset, = struct.unpack_from("<I", data, so + 48)
                    seg["sections"].append(dict(hdr=so, name=sect, seg=segname, size=size, offset=offset))
                self.segments.append(seg)
            off += cmdsize

    def section(self, name):
        for seg in self.segments:
            for s in seg["sections"]:
                if s["name"] == name:
                    return s
        return None

    def dwarf(self):
        return [s for seg in self.segments for s in seg["sections"] if seg["name"] == "__DWARF" and s["size"] > 0]

    def needed_end(self):
        return max(self.base + s["fileoff"] + s["filesize"] for s in self.segments)


# --- universal (fat) files: big-endian fat_header + fat_arch (or fat_arch_64) records ---


def fat_arch(cpu, offset, size, align=14, wide=False):
    """One fat_arch record (fat_arch_64 if wide); align is a power of two's exponent."""
    if wide:
        return struct.pack(">IIQQII", cpu, 0, offset, size, align, 0)
    return struct.pack(">IIIII", cpu, 0, offset, size, align)


def fat_header(n, records, wide=False):
    """fat_header saying n slices, then the records as given (n may lie)."""
    return struct.pack(">II", FAT_MAGIC_64 if wide else FAT_MAGIC, n) + b"".join(records)


def make_fat(slices, align=14):
    """A universal file of (cpu, bytes) slices, each at the next multiple of 2^align."""
    step = 1 << align
    records, pos = [], step
    for cpu, b in slices:
        records.append(fat_arch(cpu, pos, len(b), align))
        pos += len(b) + (-len(b) % step)
    out = bytearray(fat_header(len(slices), records))
    for _, b in slices:
        out += b"\0" * (-len(out) % step) + b
    return bytes(out)
