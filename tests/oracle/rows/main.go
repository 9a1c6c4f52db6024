// Command rows is dlvidx's "Go's own debug/dwarf line reader" oracle.
//
// It dumps every row of every DWARF line program in a Go binary, exactly as
// the standard library's debug/dwarf.LineReader decodes it, so the C++ line
// table decoder can be diffed against it row by row.
//
// Usage:
//
//	rows BINARY [--arch arm64|amd64]
//
// BINARY may be ELF or Mach-O, including a fat/universal Mach-O file, in
// which case --arch picks the slice (default: the only slice, else arm64).
// Compressed debug sections are handled by the stdlib's .DWARF().
//
// Output, for every compile unit in .debug_info order:
//
//	CU <cu DIE offset, hex 0x…> <cu name>
//	<address 0x…> <line> <is_stmt 0|1> <end_sequence 0|1> <prologue_end 0|1> <file>
//	...
//
// where <file> is path.Clean(entry.File.Name), or "-" when File is nil.
// A compile unit without a line program prints only its CU line.
package main

import (
	"bufio"
	"debug/dwarf"
	"debug/elf"
	"debug/macho"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
)

func main() {
	arch := flag.String("arch", "", "slice of a fat Mach-O to read: arm64 or amd64 (default: the only one, else arm64)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: rows BINARY [--arch arm64|amd64]\n")
		flag.PrintDefaults()
	}
	// Accept flags before or after BINARY.
	var binary string
	args := os.Args[1:]
	for len(args) > 0 {
		if err := flag.CommandLine.Parse(args); err != nil {
			os.Exit(2)
		}
		args = flag.Args()
		if len(args) > 0 {
			if binary != "" {
				flag.Usage()
				os.Exit(2)
			}
			binary, args = args[0], args[1:]
		}
	}
	if binary == "" {
		flag.Usage()
		os.Exit(2)
	}

	d, closer, err := openDWARF(binary, *arch)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rows: %s: %v\n", binary, err)
		os.Exit(1)
	}
	defer closer.Close()

	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	if err := dump(w, d); err != nil {
		w.Flush()
		fmt.Fprintf(os.Stderr, "rows: %s: %v\n", binary, err)
		os.Exit(1)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "rows: writing output: %v\n", err)
		os.Exit(1)
	}
}

// openDWARF opens an ELF, Mach-O or fat Mach-O file and returns its DWARF.
func openDWARF(name, arch string) (*dwarf.Data, io.Closer, error) {
	var want macho.Cpu
	switch arch {
	case "":
	case "arm64":
		want = macho.CpuArm64
	case "amd64":
		want = macho.CpuAmd64
	default:
		return nil, nil, fmt.Errorf("unknown --arch %q (want arm64 or amd64)", arch)
	}

	if ff, err := macho.OpenFat(name); err == nil {
		var pick *macho.File
		for i := range ff.Arches {
			a := &ff.Arches[i]
			if (want != 0 && a.Cpu == want) ||
				(want == 0 && (len(ff.Arches) == 1 || a.Cpu == macho.CpuArm64)) {
				pick = a.File
				break
			}
		}
		if pick == nil {
			ff.Close()
			return nil, nil, fmt.Errorf("fat Mach-O has no slice for --arch %q", arch)
		}
		d, err := pick.DWARF()
		if err != nil {
			ff.Close()
			return nil, nil, err
		}
		return d, ff, nil
	}
	// Not a fat file (or unreadable): try the thin formats.

	if mf, err := macho.Open(name); err == nil {
		if want != 0 && mf.Cpu != want {
			mf.Close()
			return nil, nil, fmt.Errorf("Mach-O is %v, not --arch %s", mf.Cpu, arch)
		}
		d, err := mf.DWARF()
		if err != nil {
			mf.Close()
			return nil, nil, err
		}
		return d, mf, nil
	}

	ef, err := elf.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("not an ELF or Mach-O file: %v", err)
	}
	if want == macho.CpuArm64 && ef.Machine != elf.EM_AARCH64 ||
		want == macho.CpuAmd64 && ef.Machine != elf.EM_X86_64 {
		ef.Close()
		return nil, nil, fmt.Errorf("ELF is %v, not --arch %s", ef.Machine, arch)
	}
	if ef.Section(".debug_info") == nil && ef.Section(".zdebug_info") == nil {
		ef.Close()
		return nil, nil, errors.New("no .debug_info section (stripped binary?)")
	}
	d, err := ef.DWARF()
	if err != nil {
		ef.Close()
		return nil, nil, err
	}
	return d, ef, nil
}

// dump writes the CU and row lines for every compile unit.
func dump(w *bufio.Writer, d *dwarf.Data) error {
	r := d.Reader()
	var buf []byte
	for {
		e, err := r.Next()
		if err != nil {
			return err
		}
		if e == nil {
			return nil
		}
		if e.Tag != dwarf.TagCompileUnit {
			r.SkipChildren()
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		fmt.Fprintf(w, "CU 0x%x %s\n", e.Offset, name)

		lr, err := d.LineReader(e)
		r.SkipChildren()
		if err != nil {
			return fmt.Errorf("CU at 0x%x: %v", e.Offset, err)
		}
		if lr == nil {
			continue // no line program
		}
		var le dwarf.LineEntry
		for {
			if err := lr.Next(&le); err == io.EOF {
				break
			} else if err != nil {
				return fmt.Errorf("CU at 0x%x: line program: %v", e.Offset, err)
			}
			buf = append(buf[:0], "0x"...)
			buf = strconv.AppendUint(buf, le.Address, 16)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, int64(le.Line), 10)
			buf = append(buf, ' ', bit(le.IsStmt), ' ', bit(le.EndSequence), ' ', bit(le.PrologueEnd), ' ')
			if le.File == nil {
				buf = append(buf, '-')
			} else {
				buf = append(buf, path.Clean(le.File.Name)...)
			}
			buf = append(buf, '\n')
			w.Write(buf)
		}
	}
}

func bit(b bool) byte {
	if b {
		return '1'
	}
	return '0'
}
