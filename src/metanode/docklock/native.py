"""Native mode: an ordinary Linux executable run under bubblewrap with a seccomp filter.

Rules of the sandbox (each is a bwrap option or the filter below):
- no network, no IPC, no other PIDs or users (`--unshare-all`), its own session, killed with
  its parent;
- the root file system read-only (`--ro-bind / /`), a private empty `/tmp`, a `/dev` holding
  only `null` and `zero` (no `urandom`, no `random`), a fresh `/proc`;
- a fixed environment (`FIXED_ENV`) and working directory `/tmp`;
- a seccomp filter that makes the clock and entropy syscalls fail with EPERM (`DENIED`), and
  refuses the x32 ABI and any other architecture;
- a wall-clock timeout and an address-space limit.

Every run is made twice with the same stdin; stdout, stderr and the exit code of both are
recorded and compared, and the result says whether the program behaved deterministically.

What this cannot stop (docs/docklock.md): `clock_gettime` and `gettimeofday` are usually
answered by the vDSO without entering the kernel, so seccomp cannot see them — a program that
reads the clock that way is caught only by the double run; scheduling of threads; timing side
channels. The WASM cage is the deterministic mode; native mode is for tools that cannot be
compiled to WASM, with determinism checked rather than guaranteed.

The seccomp program is assembled here with `struct`: bwrap takes a compiled classic-BPF program
on a file descriptor, and no maintained Python binding of libseccomp installs from PyPI.
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import blake3

from metanode.errors import MetanodeError

FIXED_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/tmp",
    "TZ": "UTC",
    "PYTHONHASHSEED": "0",
}
timeout_s_default = 10.0
address_space_bytes_max = 1 << 30
output_bytes_max = 1 << 20

# x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl).
DENIED = {
    "gettimeofday": 96,
    "time": 201,
    "clock_gettime": 228,
    "clock_getres": 229,
    "clock_nanosleep": 230,
    "clock_adjtime": 305,
    "getrandom": 318,
}
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_EPERM = 1
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
_OFFSET_NR = 0
_OFFSET_ARCH = 4


class NativeUnavailable(MetanodeError):
    """Native mode cannot run here; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class NativeRun:
    executable: str
    executable_hash: str  # BLAKE3 of the executable's bytes
    args: tuple[str, ...]
    input_hash: str
    exit_code: int | None  # None: stopped by the timeout
    stdout: bytes
    stderr: bytes
    deterministic: bool  # the second run gave the same exit code, stdout and stderr

    @property
    def output_hash(self) -> str:
        return blake3.blake3(self.stdout).hexdigest()


def seccomp_program() -> bytes:
    """The classic-BPF filter: right architecture, no x32, DENIED syscalls fail with EPERM."""

    def op(code: int, jt: int, jf: int, k: int) -> bytes:
        return struct.pack("=HBBI", code, jt, jf, k)

    denied = sorted(DENIED.values())
    program = [
        op(_LD_W_ABS, 0, 0, _OFFSET_ARCH),
        op(_JEQ_K, 1, 0, _AUDIT_ARCH_X86_64),
        op(_RET_K, 0, 0, _RET_KILL_PROCESS),
        op(_LD_W_ABS, 0, 0, _OFFSET_NR),
        op(_JGE_K, 0, 1, _X32_SYSCALL_BIT),
        op(_RET_K, 0, 0, _RET_KILL_PROCESS),
    ]
    for index, number in enumerate(denied):
        # On a match jump to the ERRNO return after the remaining tests and the ALLOW.
        remaining = len(denied) - index - 1
        program.append(op(_JEQ_K, remaining + 1, 0, number))
    program.append(op(_RET_K, 0, 0, _RET_ALLOW))
    program.append(op(_RET_K, 0, 0, _RET_ERRNO | _EPERM))
    return b"".join(program)


def _bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise NativeUnavailable(
            "native mode needs bubblewrap (bwrap), which is not installed: "
            "run tools/install-native.sh as root"
        )
    if platform.machine() != "x86_64":
        raise NativeUnavailable(
            f"native mode's seccomp filter is for x86_64, not {platform.machine()}"
        )
    return path


def check_available() -> None:
    """Raise `NativeUnavailable` with the kernel's reason if the sandbox cannot be made."""
    probe = subprocess.run(
        [_bwrap(), "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "true"],
        capture_output=True,
        timeout=timeout_s_default,
        check=False,
    )
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip().splitlines()
        raise NativeUnavailable(
            "the kernel refuses bubblewrap's namespaces: " + (reason[-1] if reason else "no reason")
        )


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (address_space_bytes_max, address_space_bytes_max))


def _run_once(
    executable: Path, args: tuple[str, ...], stdin: bytes, timeout_s: float
) -> tuple[int | None, bytes, bytes]:
    bwrap = _bwrap()
    filter_fd = os.memfd_create("metanode-seccomp")
    try:
        os.write(filter_fd, seccomp_program())
        os.lseek(filter_fd, 0, os.SEEK_SET)
        command = [
            bwrap,
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--ro-bind", "/", "/",
            "--tmpfs", "/tmp",
            "--tmpfs", "/dev",
            "--dev-bind", "/dev/null", "/dev/null",
            "--dev-bind", "/dev/zero", "/dev/zero",
            "--proc", "/proc",
            "--chdir", "/tmp",
            "--clearenv",
        ]  # fmt: skip
        for name, value in FIXED_ENV.items():
            command += ["--setenv", name, value]
        command += ["--seccomp", str(filter_fd), "--", str(executable), *args]
        try:
            finished = subprocess.run(
                command,
                input=stdin,
                capture_output=True,
                timeout=timeout_s,
                pass_fds=(filter_fd,),
                preexec_fn=_limit_memory,
                check=False,
            )
        except subprocess.TimeoutExpired as expired:
            return None, (expired.stdout or b"")[:output_bytes_max], b"timeout"
    finally:
        os.close(filter_fd)
    return (
        finished.returncode,
        finished.stdout[:output_bytes_max],
        finished.stderr[:output_bytes_max],
    )


def run(
    executable: str,
    args: tuple[str, ...] = (),
    stdin: bytes = b"",
    timeout_s: float = timeout_s_default,
) -> NativeRun:
    """Run `executable` twice in the sandbox with `stdin`; record and compare the runs."""
    check_available()
    resolved = shutil.which(executable) if os.sep not in executable else executable
    if resolved is None or not Path(resolved).is_file():
        raise NativeUnavailable(f"{executable}: no such executable")
    path = Path(resolved).resolve()
    first = _run_once(path, args, stdin, timeout_s)
    second = _run_once(path, args, stdin, timeout_s)
    code, stdout, stderr = first
    return NativeRun(
        executable=str(path),
        executable_hash=blake3.blake3(path.read_bytes()).hexdigest(),
        args=args,
        input_hash=blake3.blake3(stdin).hexdigest(),
        exit_code=code,
        stdout=stdout,
        stderr=stderr,
        deterministic=first == second,
    )
