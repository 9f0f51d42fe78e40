"""Self-check for Assignment 10: your functions on the public inputs, judged like the grader does.

    python check.py NOTEBOOK            # from a terminal: runs the notebook's code cells, then checks
    from check import check; check()    # from inside the notebook: checks the functions you defined
    check("closed_form")                # one part: closed_form, derivation, vae_loss, reparameterize

What is checked, the messages and the misconceptions named are the grader's; the expected
values come as numbers from `kit_data.json` beside this file. The hidden inputs, the
derivation's verdict and the training experiment are graded after you submit.

This file is the course's student kit: it needs Python, numpy, torch and nbformat only, and
imports nothing of the grader (the grader imports it, for the table and the constants below).
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import hashlib
import io
import json
import os
import re
import signal
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

KIT_DIR = Path(__file__).resolve().parent
DATA_FILE = "kit_data.json"
# Cells tagged so in the kit's template run check(); the grader blanks them (no check.py there).
KIT_CELL_TAG = "a10-kit-check"
# check() in a notebook leaves an output of this type: the saved notebook carries the kit's hash.
KIT_MIME = "application/vnd.a10-kit+json"
PROBE_TAG = "a10-grader-probe"  # the grader's own cell, should a student have pasted one in
_REPR_LIMIT = 300
_STATUS_WORD = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}


# ----------------------------------------------------------------------------- the kit's data


def kit_hash(kit_dir: Path = KIT_DIR) -> str:
    """The kit's content hash: this checker and its data (not the notebook, which students edit)."""
    digest = hashlib.sha256()
    for name in ("check.py", DATA_FILE):
        digest.update(name.encode() + b"\0" + (kit_dir / name).read_bytes())
    return digest.hexdigest()[:12]


def load_data(kit_dir: Path = KIT_DIR) -> dict[str, Any]:
    return dict(json.loads((kit_dir / DATA_FILE).read_text(encoding="utf-8")))


def array_from(doc: Mapping[str, Any]) -> np.ndarray:
    """`{"dtype", "shape", "values"}` → numpy array (the kit stores numbers, not encoded bytes)."""
    return np.asarray(doc["values"], dtype=np.dtype(doc["dtype"])).reshape(doc["shape"])


def _input_value(doc: Any) -> Any:
    """A public input as the grader passes it: arrays as torch tensors, numbers as they are."""
    if isinstance(doc, Mapping):
        import torch

        return torch.from_numpy(array_from(doc))
    return doc


# ----------------------------------------------------------------------------- values as the grader reads them


class Opaque:
    """A value that is no number or tensor (a string, None, a model…), kept for messages."""

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text


def plain(value: Any) -> Any:
    """What the grader sees of a return value: tuples, bools, ints, floats, numpy arrays or Opaque."""
    if isinstance(value, (tuple, list)):
        return tuple(plain(item) for item in value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    origin = "numpy" if isinstance(value, np.ndarray) else "torch"
    if isinstance(value, np.ndarray):
        array = value
    elif type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        tensor = value.detach().cpu()
        array = (tensor.float() if str(tensor.dtype) in ("torch.bfloat16", "torch.float16") else tensor).numpy()
    else:
        return Opaque(type(value).__name__, repr(value)[:_REPR_LIMIT])
    if array.dtype.kind not in "biuf":
        return Opaque(f"{origin} of {array.dtype}", repr(array)[:_REPR_LIMIT])
    return np.array(array)


class Unusable(Exception):
    """Wrong in form (shape, NaN) before any comparison: the check fails."""


class WrongType(Unusable):
    """Not a number or tensor at all: the check is an error."""


class CallFailed(Exception):
    """The function gave no value (missing, raised, too slow): the check is an error."""


def describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)}"
    if isinstance(value, Opaque):
        return f"a {value.type_name} ({value.text[:60]})"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} values"
    return f"a {type(value).__name__}"


def as_array(value: Any, what: str) -> np.ndarray:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray(float(value))
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.astype(np.float64)
    raise WrongType(f"{what} should be a number or a tensor, but it is {describe(value)}")


def as_scalar(value: Any, what: str) -> np.ndarray:
    array = as_array(value, what)
    if array.size != 1:
        raise Unusable(f"{what} should be a single number (a 0-dim tensor), but it has shape {tuple(array.shape)}: sum over all elements")
    return array.reshape(())


def variance_from_sigma(value: Any, x0_shape: tuple[int, ...]) -> np.ndarray:
    """Σ as a number, a 0-dim tensor, a tensor shaped like x₀ with one value, or Σ·I → the number Σ."""
    array = as_array(value, "Sigma")
    if array.size == 1:
        return array.reshape(())
    if array.shape == x0_shape and np.all(array == array.flat[0]):
        return array.reshape(-1)[0]
    total = int(np.prod(x0_shape)) if x0_shape else 1
    sizes = {total, x0_shape[-1] if x0_shape else 1} | ({total // x0_shape[0]} if len(x0_shape) > 1 else set())
    if array.ndim == 2 and array.shape[0] == array.shape[1] and array.shape[0] in sizes:
        diagonal = np.diag(array)
        if np.all(diagonal == diagonal[0]) and np.count_nonzero(array - np.diag(diagonal)) == 0:
            return np.asarray(diagonal[0])
    raise Unusable(f"Sigma should be the variance 1 − ᾱ_t (a number) or the matrix Σ·I, but it is {describe(array)}")


def agree(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> bool:
    if actual.size == 1 and expected.size == 1:
        actual, expected = actual.reshape(()), expected.reshape(())
    elif actual.shape != expected.shape:
        return False
    return bool(np.all(np.isfinite(actual)) and np.allclose(actual, expected, rtol=rtol, atol=atol))


def explain_difference(actual: np.ndarray, expected: np.ndarray) -> str:
    if (actual.size != 1 or expected.size != 1) and actual.shape != expected.shape:
        return f"it has shape {tuple(actual.shape)} where {tuple(expected.shape)} was expected"
    if np.any(np.isnan(actual)):
        return "it contains NaN"
    if np.any(np.isinf(actual)):
        return "it contains inf"
    if actual.size == 1:
        return f"it is {float(actual.reshape(())):.6g} where {float(expected.reshape(())):.6g} was expected"
    worst = np.unravel_index(np.argmax(np.abs(actual - expected)), expected.shape)
    return f"at index {tuple(int(i) for i in worst)} it is {actual[worst]:.6g} where {expected[worst]:.6g} was expected"


# ----------------------------------------------------------------------------- calling the functions


@dataclass(frozen=True)
class Call:
    value: Any = None
    failure: str = ""  # why there is no value, in the grader's words


class _TimeLimit(BaseException):
    """Raised inside code that ran past its time limit (a BaseException: `except Exception` in it cannot swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """SIGALRM where there is one (not on Windows: there, no limit)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise _TimeLimit

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def call_function(namespace: Mapping[str, Any], call: Mapping[str, Any], inputs: Sequence[Any], limit: float) -> Call:
    import torch

    function = namespace.get(call["function"])
    name = call["function"]
    if not callable(function):
        return Call(failure=f"`{name}` is not defined in your notebook: check its name and that the cell defining it runs without error.")
    kwargs = {} if call["kl_loss_weight"] is None else {"kl_loss_weight": call["kl_loss_weight"]}
    try:
        args = [_input_value(doc) for doc in inputs]  # afresh per call: in-place edits harm only this call
        if call["seed"] is not None:
            torch.manual_seed(call["seed"])
        with time_limit(limit):
            result = function(*args, **kwargs)
    except _TimeLimit:
        return Call(failure=f"`{name}` did not return within the time limit (an endless loop?).")
    except NotImplementedError:
        return Call(failure=f"`{name}` is not implemented yet: replace `raise NotImplementedError` in it by your code.")
    except BaseException as exc:  # noqa: BLE001 - a SystemExit in a student's function is an answer too
        return Call(failure=f"`{name}` raised {type(exc).__name__}: {str(exc)[:_REPR_LIMIT]}")
    try:
        return Call(value=plain(result))
    except Exception as exc:  # noqa: BLE001
        return Call(failure=f"`{name}` returned a value the grader cannot read ({str(exc)[:_REPR_LIMIT]}).")


def call_all(namespace: Mapping[str, Any], data: Mapping[str, Any], functions: set[str]) -> dict[str, Call]:
    return {
        call["id"]: call_function(namespace, call, data["inputs"][call["inputs"]], data["call_time_limit"])
        for call in data["calls"]
        if call["function"] in functions
    }


# ----------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    id: str
    status: str  # "pass" | "fail" | "error"
    points: float
    message: str
    misconceptions: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return self.points if self.status == "pass" else 0.0


def _value(calls: Mapping[str, Call], cid: str) -> Any:
    call = calls[cid]
    if call.failure:
        raise CallFailed(call.failure)
    return call.value


def _loss(calls: Mapping[str, Call], case: str, weight: float) -> np.ndarray:
    return as_scalar(_value(calls, f"vae_loss/{case}/w={weight:g}"), f"vae_loss(…, kl_loss_weight={weight:g})")


def _pair(calls: Mapping[str, Call], case: str) -> tuple[Any, Any]:
    value = _value(calls, f"closed_form/{case}")
    if not isinstance(value, tuple) or len(value) != 2:
        raise WrongType(f"closed_form must return the pair (mu, Sigma), but it returned {describe(value)}.")
    return value


# The grader's observables, by the names kit_data.json uses; evaluated in the same order.
OBSERVABLES: dict[str, Callable[[Mapping[str, Call], str, Sequence[Any]], np.ndarray]] = {
    "closed_form_mu": lambda calls, case, inputs: as_array(_pair(calls, case)[0], "mu"),
    "closed_form_sigma": lambda calls, case, inputs: variance_from_sigma(_pair(calls, case)[1], tuple(inputs[0]["shape"])),
    "reconstruction_term": lambda calls, case, inputs: _loss(calls, case, 0.0),
    "kl_term": lambda calls, case, inputs: _loss(calls, case, 1.0) - _loss(calls, case, 0.0),
    "weighted_kl_terms": lambda calls, case, inputs: (lambda base: np.stack([_loss(calls, case, w) - base for w in (0.5, 30.0)]))(
        _loss(calls, case, 0.0)
    ),
}


def judge_value(spec: Mapping[str, Any], calls: Mapping[str, Call], data: Mapping[str, Any]) -> Verdict:
    observable = OBSERVABLES[spec["observable"]]
    cases = spec["cases"]

    def verdict(status: str, message: str, names: Sequence[str] = ()) -> Verdict:
        return Verdict(spec["id"], status, spec["points"], message, tuple(names))

    try:
        student = {case: observable(calls, case, data["inputs"][f"{spec['function']}/{case}"]) for case in cases}
    except CallFailed as failure:
        return verdict("error", str(failure))
    except WrongType as wrong_type:
        return verdict("error", str(wrong_type))
    except Unusable as unusable:
        return verdict("fail", f"{unusable}. {spec['expectation']}")
    expected = {case: array_from(value) for case, value in cases.items()}
    wrong = [case for case in cases if not agree(student[case], expected[case], spec["rtol"], spec["atol"])]
    if not wrong:
        return verdict("pass", f"Correct on all {len(cases)} inputs.")
    names = next(
        (
            variant["misconceptions"]
            for variant in spec["variants"]
            if all(agree(student[case], array_from(variant["values"][case]), spec["rtol"], spec["atol"]) for case in cases)
        ),
        (),
    )
    message = f"{spec['expectation']} On the public input {explain_difference(student[wrong[0]], expected[wrong[0]])}."
    if not names:
        message += " This does not match any mistake the grader knows; compare your code with the formula step by step."
    return verdict("fail", message, names)


def judge_reparameterize(spec: Mapping[str, Any], calls: Mapping[str, Call], data: Mapping[str, Any]) -> Verdict:
    """Per latent dimension, the draws' mean and spread against N(μ, σ²); 6 standard errors of slack."""

    def verdict(status: str, message: str, names: Sequence[str] = ()) -> Verdict:
        return Verdict(spec["id"], status, spec["points"], message, tuple(names))

    try:
        draws = {case: _draws(calls, case, tuple(data["inputs"][f"reparameterize/{case}"][0]["shape"])) for case in spec["cases"]}
    except CallFailed as failure:
        return verdict("error", str(failure))
    except WrongType as wrong_type:
        return verdict("error", str(wrong_type))
    except Unusable as unusable:
        return verdict("fail", str(unusable))

    def problems(model: str) -> list[str]:
        return [p for case, models in spec["cases"].items() if (p := _sample_problem(draws[case], models, model))]

    found = problems("std")
    if not found:
        return verdict("pass", "Samples have the right mean and standard deviation.")
    names = [name for name in ("variance_as_std", "no_noise") if not problems(name)][:1]
    return verdict("fail", found[0], names)


def _draws(calls: Mapping[str, Call], case: str, shape: tuple[int, ...]) -> np.ndarray:
    z = as_array(_value(calls, f"reparameterize/{case}"), "z")
    if z.shape != shape:
        raise Unusable(f"z should have the shape of mu {shape}, but it has shape {tuple(z.shape)}.")
    if not np.all(np.isfinite(z)):
        raise Unusable("z contains NaN or inf.")
    return z


def _sample_problem(z: np.ndarray, models: Mapping[str, Any], model: str) -> str:
    mu, sigma = np.asarray(models["mu"], dtype=np.float64), np.asarray(models["sigma"][model], dtype=np.float64)
    n = z.shape[0]
    mean, std = z.mean(axis=0), z.std(axis=0, ddof=1)
    if np.any(np.abs(mean - mu) > 6 * np.maximum(sigma, 1e-6) / np.sqrt(n)):
        return "The samples' mean is not mu: z = mu + σ·ε should be centred on mu."
    if model == "no_noise":
        return "" if np.all(std < 1e-6) else "noise present"
    if np.any(np.abs(std / sigma - 1) > 6 / np.sqrt(2 * n)):
        return "The samples' standard deviation is not exp(½·logvar): check how you turn logvar into σ and that ε ~ N(0, I)."
    return ""


# ----------------------------------------------------------------------------- the written answers (form only)

_SYMBOLS = {"mu": ("μ", r"\mu"), "Sigma": ("Σ", r"\Sigma")}
_NOT_RENDERED = re.compile(r"```.*?```|~~~.*?~~~|`[^`\n]*`|<!--.*?-->", re.DOTALL)
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]", re.DOTALL)
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{[a-z]+\*?\}")
_STATEMENT = {
    "mu": re.compile(r"^\s*(?:\\(?:boldsymbol|mathbf|bm)\s*\{?\s*)?\\mu(?:_\{[^{}]*\}|_\\?[A-Za-z0-9]+)?\}?\s*:?=(.*)$", re.DOTALL),
    "Sigma": re.compile(
        r"^\s*(?:\\Sigma(?:_\{[^{}]*\}|_\\?[A-Za-z0-9]+)?I?|\\sigma(?:_\{?[^{}^]*\}?)?\^(?:2|\{2\}))\s*:?=(.*)$", re.DOTALL
    ),
}
_SIDE_REMARK = re.compile(r"(?<!\\)[,;]|\\q?quad(?![A-Za-z])|\\text\s*\{")
_KNOWN_COMMANDS = {
    *(
        rf"\{name}"
        for name in ("alpha", "bar", "overline", "sqrt", "frac", "dfrac", "tfrac", "cdot", "times", "ast", "prod", "left", "right")
    ),
    *(rf"\{name}" for name in ("big", "Big", "bigg", "Bigg", "mathbf", "boldsymbol", "bm", "mathrm", "operatorname", "div", "quad")),
    *(rf"\{ch}" for ch in ",;:! {}"),
}
_NOTATION_HINT = r"Write it with \alpha_1, \bar\alpha_3, x_0, \sqrt{…}, \frac{…}{…}, \cdot and numbers."


def derivation_answer(cells: Sequence[Mapping[str, Any]], quantity: str) -> str | None:
    """The right-hand side of the last display-math line with μ (or Σ) left of `=`; None if there is none."""
    found = None
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        text = _NOT_RENDERED.sub(" ", "".join(source) if isinstance(source, list) else str(source))
        for match in _DISPLAY_MATH.finditer(text):
            for line in _ENVIRONMENT.sub(" ", match.group(1) or match.group(2)).replace("&", " ").split("\\\\"):
                statement = _STATEMENT[quantity].match(line)
                if statement:  # `\mu = A = B, \text{where …}` → `B`
                    found = _SIDE_REMARK.split(statement.group(1), maxsplit=1)[0].split("=")[-1].strip()
    return found


def _unreadable(latex: str) -> str:
    """Why the answer cannot be read as a formula in α, ᾱ, x₀ and numbers; '' when it can."""
    latex = latex.rstrip(".")
    if not latex:
        return "the answer is empty"
    depth = 0
    for ch in latex:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return "unexpected '}'"
    if depth:
        return "a '}' is missing"
    for token in re.findall(r"\\[A-Za-z]+|\\.|[A-Za-z]", latex):
        if token.startswith("\\") and token not in _KNOWN_COMMANDS:
            return f"'{token}' is not something this checker understands"
        if not token.startswith("\\") and token not in "xIt":
            return f"the symbol '{token}' is unexpected here"
    return ""


def judge_derivation(spec: Mapping[str, Any], cells: Sequence[Mapping[str, Any]]) -> Verdict:
    symbol, command = _SYMBOLS[spec["quantity"]]
    latex = derivation_answer(cells, spec["quantity"])
    if latex is None:
        message = (
            f"No answer for {symbol} found. End your derivation with a markdown line that holds only "
            f"display math with {symbol} left of the = sign, like $${command} = …$$ (with $$ on both sides)."
        )
        return Verdict(spec["id"], "error", spec["points"], message)
    problem = _unreadable(latex)
    if problem:
        message = f"Your answer {symbol} = {latex} could not be read: {problem}. {_NOTATION_HINT}"
        return Verdict(spec["id"], "error", spec["points"], message)
    return Verdict(spec["id"], "pass", spec["points"], f"Found and readable: {latex}. Whether it is right is graded after you submit.")


def judge_all(
    data: Mapping[str, Any], namespace: Mapping[str, Any], cells: Sequence[Mapping[str, Any]] | None, part: str | None = None
) -> list[Verdict]:
    """Every public check (or those of one part); derivation checks only when the notebook's cells are known."""
    specs = [
        s for s in data["checks"] if part in (None, s["id"], s["id"].split(".")[0]) and (cells is not None or s["kind"] != "derivation")
    ]
    calls = call_all(namespace, data, {s["function"] for s in specs if s["kind"] != "derivation"})
    verdicts = []
    for spec in specs:
        if spec["kind"] == "derivation":
            verdicts.append(judge_derivation(spec, cells or ()))
        elif spec["kind"] == "reparameterize":
            verdicts.append(judge_reparameterize(spec, calls, data))
        else:
            verdicts.append(judge_value(spec, calls, data))
    return verdicts


# ----------------------------------------------------------------------------- the table (`grader check` prints it too)


@dataclass(frozen=True)
class CellFailure:
    number: int  # the student's cells counted from 1, markdown included
    ename: str
    evalue: str


def format_table(
    name: str, verdicts: Sequence[Verdict], message: str = "", cell_failures: Sequence[CellFailure] = (), width: int = 100
) -> str:
    score, total = sum(v.score for v in verdicts), sum(v.points for v in verdicts)
    rows = [f"Self-check of {name}: {score:g} / {total:g} points on the public inputs"]
    if message:
        rows.append(textwrap.fill(message, width))
    rows.append("")
    id_width = max((len(v.id) for v in verdicts), default=0)
    for v in verdicts:
        rows.append(f"{_STATUS_WORD[v.status]:<6} {v.id:<{id_width}}  {v.score:g}/{v.points:g}")
        body = v.message + (f" [misconceptions: {', '.join(v.misconceptions)}]" if v.misconceptions else "")
        rows.extend(textwrap.wrap(body, width - 7, initial_indent="       ", subsequent_indent="       "))
    for failure in cell_failures:
        rows.append(f"\nCell {failure.number} raised {failure.ename}: {failure.evalue}")
    return "\n".join(rows)


# ----------------------------------------------------------------------------- from a terminal: run the notebook


def _runnable(source: str) -> str:
    """Python of a cell: IPython's `%magic` and `!shell` lines are dropped (there is no IPython here)."""
    if source.lstrip().startswith("%%"):
        return ""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _tags(cell: Mapping[str, Any]) -> list[str]:
    return list((cell.get("metadata") or {}).get("tags", []) or [])


def run_cells(
    cells: Sequence[Mapping[str, Any]], parameters: Mapping[str, Any], cell_timeout: float
) -> tuple[dict[str, Any], list[CellFailure]]:
    """Run the code cells in order in one namespace, as grading does: the parameters injected right after
    the cell tagged `parameters` (before the first cell if none is), a cell that raises recorded and
    execution going on, a cell past `cell_timeout` seconds interrupted. Printed output is not shown."""
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins, "display": lambda *args, **kwargs: None}
    injected = "".join(f"{key} = {value!r}\n" for key, value in parameters.items())
    failures: list[CellFailure] = []
    if not any("parameters" in _tags(cell) for cell in cells):
        exec(injected, namespace)
    number = 0
    for cell in cells:
        tags = _tags(cell)
        if PROBE_TAG in tags:
            continue
        number += 1
        if cell.get("cell_type") != "code" or KIT_CELL_TAG in tags:
            continue
        source = cell.get("source", "")
        code = _runnable("".join(source) if isinstance(source, list) else str(source))
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), time_limit(cell_timeout):
                exec(compile(code, f"<cell {number}>", "exec"), namespace)
        except _TimeLimit:
            failures.append(CellFailure(number, "Timeout", f"the cell ran longer than the {cell_timeout:g} s limit and was interrupted"))
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the notebook's errors are findings, not the checker's
            failures.append(CellFailure(number, type(exc).__name__, str(exc)[:500]))
        if "parameters" in tags:
            exec(injected, namespace)
    return namespace, failures


def check_file(path: Path, *, data: Mapping[str, Any], cell_timeout: float, data_dir: str | None) -> tuple[str, bool]:
    """The table for one notebook file, and whether every check passed."""
    import nbformat

    try:
        notebook = nbformat.read(str(path), as_version=4)
        nbformat.validate(notebook)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the student's to fix, and said so
        verdicts = [Verdict(s["id"], "error", s["points"], f"Your notebook could not be read: {exc}.") for s in data["checks"]]
        return format_table(path.stem, verdicts), False
    parameters = {**data["parameters"], **({"data_dir": data_dir} if data_dir else {})}
    # Imported before the first cell, outside its time limit, as the grader's warm kernels have it: torch's
    # first import can take longer than a cell may, and an import interrupted half-way would stay broken.
    import torch  # noqa: F401

    os.environ.setdefault("MPLBACKEND", "Agg")  # plt.show() must not open windows or wait
    folder = Path.cwd()
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        os.chdir(path.parent)  # relative paths in the notebook mean what they mean in Jupyter
        namespace, failures = run_cells(notebook.cells, parameters, cell_timeout)
        verdicts = judge_all(data, namespace, notebook.cells)
    finally:
        os.chdir(folder)
    return format_table(path.stem, verdicts, cell_failures=failures), all(v.status == "pass" for v in verdicts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check.py", description="Self-check an Assignment 10 notebook on the public inputs.")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=float, default=None, help="seconds one cell may run (default: the grader's)")
    parser.add_argument("--data-dir", default=None, help="MNIST root for the training cells (default: the notebook's own data_dir)")
    args = parser.parse_args(argv)
    if not args.notebook.is_file():
        print(f"check.py: {args.notebook} is not a file", file=sys.stderr)
        return 2
    data = load_data()
    table, passed = check_file(args.notebook, data=data, cell_timeout=args.timeout or data["cell_timeout"], data_dir=args.data_dir)
    print(table)
    print(f"\nChecked with kit {kit_hash()}.")
    return 0 if passed else 1


# ----------------------------------------------------------------------------- from inside the notebook


def _notebook_cells(namespace: Mapping[str, Any]) -> list[Any] | None:
    """The saved notebook's cells, when the kernel knows its file (Jupyter ≥ 2, VS Code); else None."""
    import nbformat

    name = namespace.get("__vsc_ipynb_file__") or os.environ.get("JPY_SESSION_NAME")
    if not name or not Path(name).is_file():
        return None
    try:
        return list(nbformat.read(str(name), as_version=4).cells)
    except Exception:  # noqa: BLE001 - an unsaved or odd file: check the functions only
        return None


def check(part: str | None = None) -> None:
    """Check the functions defined in this notebook on the public inputs (all parts, or one)."""
    namespace = sys._getframe(1).f_globals
    data = load_data()
    about_derivation = part is None or part.startswith("derivation")
    cells = _notebook_cells(namespace) if about_derivation else None
    if cells is None and part is not None and about_derivation:
        print("Your written answers are checked from a terminal (a kernel cannot read its notebook): python check.py NOTEBOOK")
        return
    verdicts = judge_all(data, namespace, cells, part)
    if not verdicts:
        parts = sorted({s["id"].split(".")[0] for s in data["checks"]})
        print(f"Nothing to check for {part!r}: the parts are {', '.join(parts)}.")
        return
    table = format_table("this notebook", verdicts) + f"\n\nChecked with kit {kit_hash()}."
    if cells is None:
        table += " Your written answers (derivation.*) are checked from a terminal: python check.py NOTEBOOK."
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(table)
        return
    if get_ipython() is None:  # plain Python: nothing would keep the record
        print(table)
        return
    # Saved with the notebook, this output tells the grader which kit the student checked with.
    display({"text/plain": table, KIT_MIME: {"kit": kit_hash(), "checks": {v.id: v.status for v in verdicts}}}, raw=True)


if __name__ == "__main__":
    sys.exit(main())
