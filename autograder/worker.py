"""The learner's process: run the notebook's cells, then answer probe requests.

This module runs inside the sandbox (see `autograder.sandbox`), loaded from its source
text together with `plain`, `errors` and `probes`; nothing else of the grader, and not
the reference solutions, can be imported there. Messages to and from the grader are
length-prefixed `plain.encode` frames on two pipes.
"""

import builtins
import io
import linecache
import os
import sys
import types
from importlib.machinery import PathFinder

from autograder.errors import LearnerError
from autograder.plain import decode, encode
from autograder.probes import run_probe, trimmed_traceback

OUTPUT_KEPT = 4000  # characters of printed output kept per cell or call
BLOCKED_PACKAGES = ("solutions", "autograder")
EDITABLE_PREFIX = "__editable__"  # pip's editable installs: finder modules and path hooks
CODE_CELL_MAGICS = {"time", "timeit", "capture", "prun"}  # cell magics that run their body


class BlockedImports:
    """A meta-path finder that keeps the grader's own packages out of reach."""

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in BLOCKED_PACKAGES or top.startswith(EDITABLE_PREFIX):
            raise ModuleNotFoundError(f"No module named {name!r} (not available while grading)")
        return None


def finds_grader(finder):
    """Whether a meta-path finder can find one of the grader's packages."""
    try:
        return any(finder.find_spec(name, None) is not None for name in BLOCKED_PACKAGES)
    except Exception:  # noqa: BLE001 (a finder that fails to look finds nothing)
        return False


def close_routes_to_grader():
    """Take out the import routes to the grader's packages that the environment set up:
    an editable install's finder and path hook, a path entry holding the repository.
    Then a learner who takes BlockedImports off sys.meta_path still finds nothing."""
    sys.meta_path[:] = [f for f in sys.meta_path if f is PathFinder or not finds_grader(f)]
    sys.path[:] = [
        entry
        for entry in sys.path
        if not entry.startswith(EDITABLE_PREFIX)
        and not any(os.path.isdir(os.path.join(entry, name)) for name in BLOCKED_PACKAGES)
    ]
    sys.path_importer_cache.clear()
    for name in [name for name in sys.modules if name.startswith(EDITABLE_PREFIX)]:
        del sys.modules[name]


def install_silent_checks(namespace):
    """While grading, `run_test` does nothing: the grader runs its own copy of every test,
    so a check call that a learner copied into a cell of their own costs nothing. It is
    importable from `autograder.checks`, and already defined, as in the learner's kernel
    once a check cell has run."""
    checks = types.ModuleType("autograder.checks")
    checks.run_test = lambda name, namespace=None: None
    sys.modules["autograder.checks"] = sys.modules["autograder"].checks = checks
    namespace["run_test"] = checks.run_test


class CappedOutput(io.TextIOBase):
    """A stdout that keeps the first characters written and counts the rest."""

    def __init__(self):
        self.kept, self.room, self.dropped = [], OUTPUT_KEPT, 0

    def write(self, text):
        """Keep what fits; only count the rest (each write costs O(len(text)))."""
        text = str(text)
        kept = text[: self.room]
        if kept:
            self.kept.append(kept)
            self.room -= len(kept)
        self.dropped += len(text) - len(kept)
        return len(text)

    def take(self):
        text = "".join(self.kept)
        if self.dropped:
            text += f"\n[... {self.dropped} more characters of output not kept]"
        self.kept, self.room, self.dropped = [], OUTPUT_KEPT, 0
        return text


class Shell:
    """Stands in for IPython's shell: `%%time`, `%%capture` and the like run their code
    (a learner may time the cell that defines a function); other magics and `!commands`
    do nothing."""

    def __init__(self, namespace):
        self.namespace = namespace

    def run_cell_magic(self, magic, line, body, *args, **kwargs):
        if magic in CODE_CELL_MAGICS:
            exec(compile(body, f"<cell magic %%{magic}>", "exec"), self.namespace)

    def run_line_magic(self, magic, line, *args, **kwargs):
        if magic == "time":  # `%time y = f(x)` assigns y
            exec(compile(line, "<cell magic %time>", "exec"), self.namespace)

    def system(self, *args, **kwargs):
        return None

    getoutput = system

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class Channel:
    def __init__(self, read_fd, write_fd):
        self.read_fd, self.write_fd = read_fd, write_fd

    def receive(self):
        length = int.from_bytes(self._read_exactly(8), "big")
        return decode(self._read_exactly(length))

    def send(self, message):
        data = encode(message)
        os.write(self.write_fd, len(data).to_bytes(8, "big"))
        view = memoryview(data)
        while view:
            view = view[os.write(self.write_fd, view) :]

    def _read_exactly(self, size):
        chunks = []
        while size:
            chunk = os.read(self.read_fd, size)
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)


def run_cells(cells, namespace, channel, output):
    """Run each cell in its own try, so that one broken cell does not stop the rest."""
    for cell in cells:
        channel.send({"event": "cell_start", "index": cell["index"]})
        filename = f"<cell {cell['index']}>"
        linecache.cache[filename] = (
            len(cell["source"]),
            None,
            cell["source"].splitlines(True),
            filename,
        )
        error = None
        try:
            exec(compile(cell["source"], filename, "exec"), namespace)
        except BaseException as raised:  # noqa: BLE001 (SystemExit and KeyboardInterrupt too)
            error = trimmed_traceback(raised)
        channel.send(
            {"event": "cell_done", "index": cell["index"], "error": error, "output": output.take()}
        )
    channel.send({"event": "loaded"})


def answer(request, namespace, output):
    """Run one probe request and describe the outcome as a plain message."""
    reply = {"id": request["id"]}
    try:
        reply["value"] = run_probe(namespace, request["probe"], request["args"], request["kwargs"])
        reply["ok"] = True
    except LearnerError as error:
        reply.update(ok=False, kind=type(error).__name__, message=str(error))
        reply["exception_type"] = getattr(error, "exception_type", "")
    except BaseException as error:  # noqa: BLE001 (sys.exit or KeyboardInterrupt in learner code)
        name = request["args"][0] if request["args"] else request["probe"]
        message = f"`{name}` raised {type(error).__name__}:\n{trimmed_traceback(error)}"
        reply.update(ok=False, kind="RaisedException", message=message)
        reply["exception_type"] = type(error).__name__
    reply["output"] = output.take()
    return reply


def main(read_fd, write_fd):
    close_routes_to_grader()
    sys.meta_path.insert(0, BlockedImports())
    channel = Channel(read_fd, write_fd)
    output = CappedOutput()
    sys.stdout = sys.stderr = output
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    shell = Shell(namespace)
    namespace["get_ipython"] = lambda: shell
    install_silent_checks(namespace)
    request = channel.receive()
    run_cells(request["cells"], namespace, channel, output)
    while True:
        try:
            request = channel.receive()
        except EOFError:
            return
        channel.send(answer(request, namespace, output))
