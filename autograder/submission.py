"""A submission as the tests see it: learner code that can be called by name.

Tests never touch learner objects. They ask a submission to run a probe (see
`autograder.probes`) and get plain data back. `LocalSubmission` runs probes in this
process, on a notebook's globals or on a reference module; the sandbox's
`RemoteSubmission` runs the same probes in the learner's own process.
"""

from autograder.probes import run_probe


class Submission:
    """What every submission offers the tests; subclasses say where probes run."""

    def probe(self, probe_name, *args, **kwargs):
        """Run the probe `probe_name` on the learner's code; its result as plain data."""
        raise NotImplementedError

    def call(self, name, *args, **kwargs):
        """Call the learner's NumPy function `name`; its result as plain data."""
        return self.probe("call", name, *args, **kwargs)

    def call_torch(self, name, *args, **kwargs):
        """Call the learner's PyTorch function `name` with arrays as tensors."""
        return self.probe("call_torch", name, *args, **kwargs)


class LocalSubmission(Submission):
    """Learner code living in this process, in `namespace` (a dict of globals)."""

    def __init__(self, namespace):
        self.namespace = namespace

    def probe(self, probe_name, *args, **kwargs):
        return run_probe(self.namespace, probe_name, args, kwargs)
