"""Bad input: one-line errors naming the file and the reason, no crash."""
from dlvtest import objfile
from dlvtest.run import Cache


def expect_error(dlvidx, cache, path, want):
    p = dlvidx("build", path, cache=cache, check=False)
    err = p.stderr.strip()
    ok = (p.returncode == 1 and len(err.splitlines()) == 1 and err.startswith(f"dlvidx: {path}: ")
          and want in err)
    return ok, f"exit {p.returncode}: {err}"


def test_bad_binaries(corpus, dlvidx, checks, tmp):
    example = corpus("example-go127-linux-amd64")
    stripped = corpus("example-go127-linux-amd64+stripped")
    plain = corpus("example-go127-linux-amd64+nocompress")
    darwin = corpus("example-go127-darwin-arm64")
    data = open(example, "rb").read()

    def write(name, content):
        p = tmp / name
        p.write_bytes(content)
        return str(p)

    with Cache() as cache:
        def expect(path, want, label):
            ok, detail = expect_error(dlvidx, cache, path, want)
            checks(ok, f"{label}: {detail}")

        expect(write("empty", b""), "empty file", "empty file")
        expect(write("text.txt", b"hello, world\n" * 100), "not an executable", "text file")
        expect(stripped, "no DWARF: built with -s/-w?", "stripped Go binary")
        expect(write("true", open("/bin/true", "rb").read()), "not a Go binary", "non-Go ELF (/bin/true)")
        # Truncated at many offsets: every one refused with a message, none crashes.
        for cut in [3, 16, 63, 64, 200, 4096, len(data) // 3, len(data) // 2, len(data) - 4096, len(data) - 1]:
            expect(write(f"trunc{cut}", data[:cut]), "", f"truncated at {cut}")
        # .debug_line overwritten with garbage (uncompressed build, so it is in place).
        raw = bytearray(open(plain, "rb").read())
        sec = objfile.Elf(bytes(raw)).section(".debug_line")
        assert sec, f"{plain}: no section .debug_line"
        start, size = sec["offset"], sec["size"]
        raw[start:start + size] = bytes((i * 131 + 7) & 0xff for i in range(size))
        expect(write("badline", bytes(raw)), "malformed DWARF", "corrupt .debug_line")
        # A line program whose unit_length runs past the section.
        raw = bytearray(open(plain, "rb").read())
        raw[start:start + 4] = b"\xf0\xff\xff\x7f"
        expect(write("badlen", bytes(raw)), "malformed DWARF", "bad .debug_line length")
        # A universal Mach-O whose slice offset points outside the file.
        body = open(darwin, "rb").read()
        fat = objfile.fat_header(1, [objfile.fat_arch(objfile.CPU_ARM64, 0x7fffff00, len(body))])
        expect(write("fat", fat + body), "outside the file", "fat header with bogus offset")
    checks.done()
