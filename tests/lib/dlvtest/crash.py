"""What says a process died badly: a signal, or a sanitizer's / libstdc++'s report in its output."""

CRASH_MARKS = ("Sanitizer", "runtime error:", "terminate called", "Segmentation fault", "core dumped",
               "Assertion", "AddressSanitizer", "LeakSanitizer")


def crash_marks(text):
    """The marks of a crash found in a process's output (empty: none)."""
    return [m for m in CRASH_MARKS if m in text]


def died_of_signal(returncode):
    """A negative status (subprocess: killed by a signal) or a shell's 128+N."""
    return returncode is not None and (returncode < 0 or returncode >= 128)
