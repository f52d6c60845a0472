"""System calls no process of the bubblewrap sandbox may make, refused by the kernel (seccomp).

What a graded function's process could reach only with native code (NumPy gives pure Python raw
memory access, see README "Known limits") is refused below Python: kernel objects that outlive a
process and are shared by every process of the sandbox (System V shared memory, semaphores and
message queues, POSIX message queues), other processes' memory (ptrace, process_vm_*), new
namespaces and mounts, and kernel interfaces no graded function needs. The filter is built with
libseccomp (through pyseccomp) outside the sandbox and handed to bubblewrap, which installs it
before the server starts; every process of the sandbox inherits it and none can remove it.
"""

from __future__ import annotations

import errno
import functools
import os

DENIED = (
    # kernel objects that outlive a process, shared by the sandbox's processes
    "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semtimedop", "semctl",
    "msgget", "msgsnd", "msgrcv", "msgctl",
    "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
    # other processes' memory
    "ptrace", "process_vm_readv", "process_vm_writev",
    # new namespaces, mounts
    "unshare", "setns", "mount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen", "fsmount",
    "fsconfig", "fspick", "mount_setattr",
    # kernel interfaces no graded function needs
    "kexec_load", "kexec_file_load", "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key",
    "request_key", "io_uring_setup", "io_uring_enter", "io_uring_register", "memfd_create", "personality",
)


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """Whether a filter can be built here (pyseccomp and the system's libseccomp)."""
    try:
        import pyseccomp  # noqa: F401, PLC0415 - loads libseccomp through ctypes, outside the sandbox
    except (ImportError, OSError, RuntimeError):
        return False
    return True


def filter_fd() -> int | None:
    """A descriptor to read the compiled filter from (bubblewrap's ``--seccomp FD``), or None when
    no filter can be built here (doctor says so)."""
    if not available():
        return None
    import pyseccomp as seccomp  # noqa: PLC0415

    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED:
        try:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError, OSError):
            continue  # a call this architecture does not have
    read, write = os.pipe()
    with os.fdopen(write, "wb") as handle:
        rules.export_bpf(handle)
    return read
