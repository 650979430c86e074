"""The sandbox: learner code in a process of its own, watched by the grader.

The learner's process starts with Python's isolated mode (no user site, no current
folder, no PYTHONPATH), in an empty scratch folder, with limits on memory, file size and
core dumps. It receives the grader-side modules it needs as source text, so the
repository is never on its import path. The grader waits on every answer with a
deadline; a process that runs past one, or dies, is killed and started again, skipping
the cell that killed it, so one bad cell or call costs only what depends on it.
"""

import functools
import importlib
import importlib.util
import inspect
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from autograder import errors, jail
from autograder.plain import decode, encode
from autograder.submission import Submission

WORKER_MODULES = (
    "autograder.plain",
    "autograder.errors",
    "autograder.probes",
    "autograder.jail",
    "autograder.worker",
)
MAX_MESSAGE_BYTES = 16 << 20  # an answer is a few arrays; anything larger is an attack

BOOT = r"""
import json, os, resource, sys, types
read_fd, write_fd, memory_bytes = (int(arg) for arg in sys.argv[1:4])
jail = json.loads(sys.argv[4])
resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))
def read_exactly(size):
    data = b""
    while len(data) < size:
        chunk = os.read(read_fd, size - len(data))
        if not chunk:
            raise SystemExit(3)
        data += chunk
    return data
sources = read_exactly(int.from_bytes(read_exactly(8), "big")).decode().split("\0")
package = types.ModuleType("autograder")
package.__path__ = []
sys.modules["autograder"] = package
for name, source in zip(sources[::2], sources[1::2]):
    module = types.ModuleType(name)
    sys.modules[name] = module
    setattr(package, name.rpartition(".")[2], module)
    exec(compile(source, "<grader:" + name + ">", "exec"), module.__dict__)
if jail:
    sys.modules["autograder.jail"].confine(jail["kept"], jail["grader_folders"], write_fd)
sys.modules["autograder.worker"].main(read_fd, write_fd)
"""


_LOADED = object()  # every cell has run


@dataclass(frozen=True)
class Limits:
    """How much time and memory learner code may use. All are settings."""

    test_seconds: float = 20.0  # one graded test, all its calls together
    cell_seconds: float = 30.0  # one notebook cell, when the notebook is loaded
    notebook_seconds: float = 300.0  # everything, loading and tests
    memory_mb: int = 2048  # the learner process's address space


@dataclass
class Cell:
    index: int  # the cell's position in the notebook, as the learner sees it (from 1)
    source: str


class _Stopped(Exception):
    """The learner process ran past a deadline or died; `reason` says which."""

    def __init__(self, reason, timed_out):
        super().__init__(reason)
        self.reason, self.timed_out = reason, timed_out


def _worker_sources():
    parts = []
    for name in WORKER_MODULES:
        parts += [name, inspect.getsource(importlib.import_module(name))]
    return "\0".join(parts).encode()


def python_folders():
    """The folders of the Python installation that the learner's process runs on, as
    written and as resolved (a folder reached through a link stays reachable)."""
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    return sorted({os.path.abspath(p) for p in prefixes} | {os.path.realpath(p) for p in prefixes})


def grader_folders():
    """The folders of the grader's packages (autograder, and solutions where installed)."""
    folders = []
    for package in ("autograder", "solutions"):
        spec = importlib.util.find_spec(package)
        if spec and spec.submodule_search_locations:
            folders += [os.path.realpath(path) for path in spec.submodule_search_locations]
    return sorted({folder for folder in folders if os.path.isdir(folder)})


@functools.cache
def jail_settings():
    """What `autograder.jail.confine` needs, or None where this machine cannot jail."""
    settings = {"kept": python_folders(), "grader_folders": grader_folders()}
    probe = f"{inspect.getsource(jail)}\nprobe(*{json.dumps(list(settings.values()))})\n"
    try:
        answer = subprocess.run(
            [sys.executable, "-I", "-c", probe], capture_output=True, timeout=60, cwd="/"
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return settings if answer.stdout == b"jailed\n" else None


def describe_exit(returncode, limits):
    """Why the learner process ended, for the learner; a crash by a signal may come from
    running out of memory, so that one names the memory limit."""
    if returncode is None:
        return "the process stopped answering"
    if returncode >= 0:
        return f"the process exited with status {returncode} (os._exit or sys.exit?)"
    memory = f"; did it run out of memory? The limit is {limits.memory_mb} MB"
    if -returncode == signal.SIGSEGV:
        return "the process crashed with a segmentation fault (SIGSEGV" + memory + ")"
    try:
        signal_name = signal.Signals(-returncode).name
    except ValueError:
        signal_name = f"signal {-returncode}"
    return f"the process was ended by {signal_name} ({memory.lstrip('; ')})"


@dataclass
class Sandbox:
    """A learner process that has run the notebook's cells and answers probes."""

    cells: list
    limits: Limits = field(default_factory=Limits)
    skipped: dict = field(default_factory=dict)  # cell index -> why it was skipped
    cell_errors: dict = field(default_factory=dict)  # cell index -> its error
    process: subprocess.Popen = None
    learner_pidfd: int = None  # where the learner's process is jailed (see autograder.jail)

    def __post_init__(self):
        self.deadline = time.monotonic() + self.limits.notebook_seconds
        self.scratch = tempfile.TemporaryDirectory(prefix="autograder-")
        self.next_id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()
        self.scratch.cleanup()

    # The process.

    def start(self):
        grader_read, worker_write = os.pipe()
        worker_read, grader_write = os.pipe()
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.scratch.name,
            "MPLBACKEND": "Agg",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        arguments = [str(worker_read), str(worker_write), str(self.limits.memory_mb << 20)]
        arguments.append(json.dumps(jail_settings()))
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", BOOT, *arguments],
            pass_fds=(worker_read, worker_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.scratch.name,
            env=environment,
            start_new_session=True,  # its own process group, killed as a whole
        )
        os.close(worker_read)
        os.close(worker_write)
        os.set_blocking(grader_write, False)  # a learner who stops reading cannot stall us
        self.read_fd, self.write_fd = grader_read, grader_write
        sources = _worker_sources()
        self._write(len(sources).to_bytes(8, "big") + sources, time.monotonic() + 60)
        if jail_settings():
            self._hold_jailed_learner()

    def _hold_jailed_learner(self):
        """Read the jailed learner's pid from its keeper, and hold it as a pidfd: a handle
        that ends the learner's process, and with it every process it started, whatever
        session or group it moved to."""
        try:
            pid = int.from_bytes(self._read_exactly(8, time.monotonic() + 60), "big")
            self.learner_pidfd = os.pidfd_open(pid)
        except (_Stopped, OSError) as error:
            self.stop()
            raise errors.Crash(f"the grader could not start Python in its jail: {error}") from None

    def stop(self):
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.learner_pidfd is not None:
            try:
                signal.pidfd_send_signal(self.learner_pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            # Readable once it has exited, which the first process of a PID namespace
            # does only after every other process in it: then nothing of it is left.
            select.select([self.learner_pidfd], [], [], 10)
            os.close(self.learner_pidfd)
            self.learner_pidfd = None
        self.process.wait()
        os.close(self.read_fd)
        os.close(self.write_fd)
        self.process = None

    def _write(self, data, deadline):
        """Write all of `data`, or _Stopped if the process does not take it in time."""
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            _, writable, _ = select.select([], [self.write_fd], [], max(remaining, 0))
            if not writable:
                raise _Stopped("ran past its time limit", timed_out=True)
            try:
                view = view[os.write(self.write_fd, view) :]
            except BlockingIOError:
                continue
            except OSError:
                return  # the process died; the next read says how

    def send(self, message, deadline):
        data = encode(message)
        self._write(len(data).to_bytes(8, "big") + data, deadline)

    def receive(self, deadline):
        """The next message, or _Stopped if the deadline passes or the process dies."""
        length = int.from_bytes(self._read_exactly(8, deadline), "big")
        if length > MAX_MESSAGE_BYTES:
            raise _Stopped("the process sent an answer too large to read", timed_out=False)
        try:
            return decode(self._read_exactly(length, deadline))
        except (ValueError, UnicodeDecodeError, RecursionError):  # forged or garbled
            raise _Stopped("the process sent a garbled answer", timed_out=False) from None

    def _read_exactly(self, size, deadline):
        data = bytearray()
        while len(data) < size:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.read_fd], [], [], max(remaining, 0))
            if not ready:
                raise _Stopped("ran past its time limit", timed_out=True)
            chunk = os.read(self.read_fd, min(size - len(data), 1 << 20))
            if not chunk:
                self.process.wait()
                reason = describe_exit(self.process.returncode, self.limits)
                raise _Stopped(reason, timed_out=False)
            data += chunk
        return bytes(data)

    # Loading the notebook.

    def ready(self):
        """Start the process and run the cells, skipping each cell that kills it."""
        while self.process is None:
            if time.monotonic() > self.deadline:
                raise errors.TimeLimit(self._notebook_time_message())
            self.start()
            try:
                self._load()
            except _Stopped:
                self.stop()

    def _load(self):
        cells = [cell for cell in self.cells if cell.index not in self.skipped]
        request = {"op": "load", "cells": [{"index": c.index, "source": c.source} for c in cells]}
        sent = {cell.index for cell in cells}
        try:  # no learner code has run yet
            self.send(request, min(time.monotonic() + self.limits.cell_seconds, self.deadline))
        except _Stopped as stopped:
            raise errors.Crash(f"the grader could not start Python: {stopped.reason}") from None
        current = None
        while True:
            cell_deadline = min(time.monotonic() + self.limits.cell_seconds, self.deadline)
            try:
                message = self.receive(cell_deadline)
                current = self._follow(message, sent, current)
            except _Stopped as stopped:
                if current is None:
                    reason = f"the grader could not start Python: {stopped.reason}"
                    raise errors.Crash(reason) from None
                if stopped.timed_out:
                    why = f"it ran past the time limit of {self.limits.cell_seconds:g} s per cell"
                else:
                    why = f"it stopped the Python process: {stopped.reason}"
                self.skipped[current] = why
                raise
            if current is _LOADED:
                return

    def _follow(self, message, sent, current):
        """Take in one message of the loading; the cell now running, or _LOADED."""
        event = message.get("event") if isinstance(message, dict) else None
        index = message.get("index") if isinstance(message, dict) else None
        if event == "cell_start" and index in sent:
            return index
        if event == "cell_done" and index in sent:
            if message.get("error"):
                self.cell_errors.setdefault(index, str(message["error"]))
            return current
        if event == "loaded":
            return _LOADED
        raise _Stopped("the process sent a garbled answer", timed_out=False)

    def _notebook_time_message(self):
        return (
            f"the notebook ran past its total time limit of {self.limits.notebook_seconds:g} s; "
            "the remaining tests were not run"
        )

    # Probes.

    def probe(self, probe_name, args, kwargs, deadline):
        """Run a probe in the learner process; its value, or a LearnerError."""
        self.ready()
        self.next_id += 1
        request = {
            "op": "probe",
            "id": self.next_id,
            "probe": probe_name,
            "args": list(args),
            "kwargs": kwargs,
        }
        name = args[0] if args and isinstance(args[0], str) else probe_name
        try:
            self.send(request, min(deadline, self.deadline))
            reply = self.receive(min(deadline, self.deadline))
        except _Stopped as stopped:
            self.stop()
            if not stopped.timed_out:
                raise errors.Crash(f"calling `{name}`, {stopped.reason}") from None
            if time.monotonic() >= self.deadline:
                raise errors.TimeLimit(self._notebook_time_message()) from None
            raise errors.TimeLimit(
                f"`{name}` ran past the time limit of {self.limits.test_seconds:g} s for this test "
                "(an infinite loop, or far too much work?)"
            ) from None
        well_formed = (
            isinstance(reply, dict)
            and reply.get("id") == self.next_id
            and ((reply.get("ok") is True and "value" in reply) or reply.get("ok") is False)
        )
        if not well_formed:
            self.stop()
            raise errors.Crash(f"calling `{name}`, the process sent an unexpected answer")
        if reply["ok"]:
            return reply["value"]
        error_class = getattr(errors, str(reply.get("kind")), None)
        if not (isinstance(error_class, type) and issubclass(error_class, errors.LearnerError)):
            error_class = errors.RaisedException
        message = str(reply.get("message"))
        if error_class is errors.RaisedException:
            raise errors.RaisedException(message, str(reply.get("exception_type")))
        raise error_class(message)


class RemoteSubmission(Submission):
    """A submission whose probes run in a sandbox, each test within its time limit."""

    def __init__(self, sandbox, test_seconds):
        self.sandbox = sandbox
        self.deadline = time.monotonic() + test_seconds

    def probe(self, probe_name, *args, **kwargs):
        return self.sandbox.probe(probe_name, args, kwargs, self.deadline)
