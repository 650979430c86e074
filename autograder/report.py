"""What grading writes: Gradescope's results.json, a learner's feedback, the gradebook."""

import csv
import html
import io
import json
import os
import tempfile
from pathlib import Path

from autograder.registry import points_text


def write_atomically(path, text):
    """Write `text` to `path` so that a reader never sees half a file: into a new scratch
    file of a unique name beside it, which then replaces it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, scratch = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with open(descriptor, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.chmod(scratch, 0o644)  # mkstemp makes it readable by its owner only
        os.replace(scratch, path)
    except BaseException:
        os.unlink(scratch)
        raise


def gradescope_results(result, hidden_visibility="after_published"):
    """The results.json that Gradescope reads: the score and one entry per test.

    Hidden tests get `hidden_visibility`; their output is the feedback message, never
    the test's code.
    """
    return {
        "score": result.score,
        "output": "\n\n".join(result.messages),
        "tests": [
            {
                "name": test.description,
                "number": test.name,
                "score": test.score,
                "max_score": test.max_score,
                "output": test.output,
                "visibility": "visible" if test.visible else hidden_visibility,
            }
            for test in result.tests
        ],
    }


def feedback_markdown(result, student=None):
    """A learner's feedback: the score, then each test with what to look at."""
    title = f"# Feedback: {result.assignment}" + (f" ({student})" if student else "")
    lines = [title, "", f"**Score: {result.score:g} / {result.max_score:g}**", ""]
    for message in result.messages:
        lines += ["> " + row for row in message.splitlines()] + [""]
    for test in result.tests:
        mark = "\N{CHECK MARK}" if test.score == test.max_score else "\N{BALLOT X}"
        kind = "" if test.visible else " (hidden test)"
        lines.append(
            f"- {mark} {test.description}{kind}: {test.score:g} / {points_text(test.max_score)}"
        )
        if test.score < test.max_score:
            lines += ["", "  ```", *("  " + row for row in test.output.splitlines()), "  ```"]
    return "\n".join(lines) + "\n"


def feedback_html(result, student=None):
    body = html.escape(feedback_markdown(result, student))
    return f"<!doctype html>\n<meta charset='utf-8'>\n<pre>{body}</pre>\n"


def write_gradebook(path, rows):
    """rows: dicts with student, assignment, score, max_score, status."""
    text = io.StringIO()
    writer = csv.DictWriter(text, ["student", "assignment", "score", "max_score", "status"])
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda row: (row["student"], row["assignment"])))
    write_atomically(path, text.getvalue())


def gradebook_table(rows):
    """The gradebook as a text table: a row per student, a column per assignment."""
    students = sorted({row["student"] for row in rows})
    columns = sorted({row["assignment"] for row in rows})
    cells = {
        (row["student"], row["assignment"]): f"{row['score']}/{row['max_score']}" for row in rows
    }
    widths = [max([len("student")] + [len(s) for s in students])]
    widths += [max(len(column), 7) for column in columns]
    header = ["student", *columns]
    lines = ["  ".join(text.ljust(width) for text, width in zip(header, widths))]
    lines.append("  ".join("-" * width for width in widths))
    for student in students:
        row = [student] + [cells.get((student, column), "-") for column in columns]
        lines.append("  ".join(text.ljust(width) for text, width in zip(row, widths)))
    return "\n".join(lines)


def write_submission_outputs(folder, result, student, feedback_format):
    folder = Path(folder)
    write_atomically(folder / "results.json", json.dumps(gradescope_results(result), indent=2))
    if feedback_format == "html":
        write_atomically(folder / "feedback.html", feedback_html(result, student))
    else:
        write_atomically(folder / "feedback.md", feedback_markdown(result, student))
