"""The jail: Linux namespaces that keep learner code away from the grader.

Where the kernel lets an unprivileged process make namespaces (most Linux machines; not
every container), the learner's process runs in its own user, mount, PID and network
namespaces, set up by `confine` before any learner code runs:

- every file system is read-only, but a fresh /tmp, its working folder: it can change
  no file, the results the grader writes and the grader's own code included;
- every top-level folder that is not the system's (/home, /root, /work, /autograder,
  /opt...) is replaced by an empty one, but for the Python it runs on; so are the
  grader's packages: the hidden tests, the solutions and the other learners'
  submissions are out of its sight;
- it sees only its own processes, so it can signal or trace none of the grader's, and
  whatever it starts dies with it;
- it has no network.

The mounts are made in one user namespace and locked by a second, nested one, in which
the learner's code runs: holding capabilities there, it still cannot undo them.

This module runs in the learner's process, sent as source text like `autograder.worker`.
"""

import ctypes
import os
import re
import signal

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
# A read-only remount must keep the flags the mount already has (the kernel locks them).
KEPT_FLAGS = {
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: 0x400,
    os.ST_NODIRATIME: 0x800,
    os.ST_RELATIME: 0x200000,
}
SCRATCH = "/tmp"
SYSTEM_FOLDERS = {"bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc"}
SYSTEM_FOLDERS |= {"sbin", "sys", "usr"}

_libc = ctypes.CDLL(None, use_errno=True)


def _call(function, *args, what):
    if function(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _path(text):
    return None if text is None else os.fsencode(text)


def mount(source, target, fstype, flags, data=None):
    _call(
        _libc.mount,
        _path(source),
        _path(target),
        _path(fstype),
        ctypes.c_ulong(flags),
        _path(data),
        what=f"mount {target}",
    )


def unshare(flags, uid, gid):
    """Enter new namespaces, mapping user `uid` of the parent namespace to root here."""
    _call(_libc.unshare, flags, what="unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as file:
            file.write(text)


def mount_points():
    """Every mount point of this mount namespace, as paths."""
    with open("/proc/self/mountinfo") as file:
        fields = [line.split()[4] for line in file]
    return [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), f) for f in fields]


def make_read_only(mount_point):
    try:
        flags = os.statvfs(mount_point).f_flag
    except OSError:
        return  # covered by another mount: out of reach anyway
    if flags & os.ST_RDONLY:
        return
    kept = sum(ms_flag for st_flag, ms_flag in KEPT_FLAGS.items() if flags & st_flag)
    mount(None, mount_point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | kept)


def cover(folder, kept, size):
    """Lay an empty tmpfs over `folder`, then bring back the paths `kept` inside it."""
    inside = [path for path in kept if path.startswith(folder.rstrip("/") + "/")]
    handles = [(os.open(path, os.O_PATH), path) for path in inside]  # reachable once covered
    mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")
    for handle, path in handles:
        os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{handle}", path, None, MS_BIND | MS_REC)
        os.close(handle)


def private_folders():
    """The top-level folders that are not the system's (symbolic links left alone)."""
    return [
        f"/{name}"
        for name in sorted(os.listdir("/"))
        if name not in SYSTEM_FOLDERS | {SCRATCH.strip("/")}
        and os.path.isdir(f"/{name}")
        and not os.path.islink(f"/{name}")
    ]


def confine(kept, grader_folders, write_fd):
    """Move this process into the jail; return in the jailed learner process only.

    `kept`: the folders of the Python installation, which stay in sight. `grader_folders`:
    the grader's packages, covered wherever they are. This process stays outside as the
    jail's keeper: it sends the learner's pid to the grader on `write_fd` (so that the
    grader can end it whatever it does), waits for it, and ends as it ended, so that the
    grader reads the learner's exit status as its own.
    """
    unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET, os.getuid(), os.getgid())
    learner = os.fork()  # the first process of the new PID namespace
    if learner:
        keep_watch(learner, write_fd)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # when the keeper dies
    _libc.prctl(PR_SET_DUMPABLE, 0)  # no ptrace from the nested namespace
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this namespace's
    cover(SCRATCH, kept, "256m")
    for folder in private_folders():
        cover(folder, kept, "1m")
    for folder in grader_folders:
        if os.path.isdir(folder):  # not already covered with its top-level folder
            cover(folder, kept, "1m")
    for mount_point in mount_points():
        if mount_point not in (SCRATCH, "/proc") and not mount_point.startswith("/proc/"):
            make_read_only(mount_point)
    unshare(CLONE_NEWUSER | CLONE_NEWNS, 0, 0)  # locks every mount made above
    os.chdir(SCRATCH)
    os.environ["HOME"] = SCRATCH


def keep_watch(learner, write_fd):
    """The keeper's part: report the learner's pid, wait for it, end as it ended."""
    os.write(write_fd, learner.to_bytes(8, "big"))
    os.closerange(3, 1 << 16)  # the pipes are the learner's to hold, not the keeper's
    _, status = os.waitpid(learner, 0)
    if os.WIFSIGNALED(status):
        ending = os.WTERMSIG(status)
        if ending not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(ending, signal.SIG_DFL)
        os.kill(os.getpid(), ending)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def probe(kept, grader_folders):
    """Confine a throwaway process; print 'jailed' if the jail holds (see `sandbox`)."""
    _, write_fd = os.pipe()
    confine(kept, grader_folders, write_fd)
    if os.statvfs("/").f_flag & os.ST_RDONLY and os.getpid() == 1:
        print("jailed", flush=True)
