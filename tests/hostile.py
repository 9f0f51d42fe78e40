"""Hostile submissions: each tries one thing a curious or careless student might, and defines the
three functions correctly, so its grade shows whether the attempt changed anything (the lookup table
instead defines them for the public inputs only, beside the handout's stubs it must not beat).

An attack that *succeeds* raises `RuntimeError("LEAKED …")`, which the tests look for; one that
is stopped raises the error the sandbox causes (or is cut short by a limit).
"""

from __future__ import annotations

from pathlib import Path

from assignments.a10.handout.content import TEMPLATE
from tests.broken import ANSWERS, CORRECT_CODE, notebook

SECRET_NAME = "A10_TEST_SECRET"
# A correct function that burns ~3 s of CPU in its first call: full marks only if the per-call limit
# does not count the time it waits for a CPU while a neighbour hogs them.
CPU_HEAVY_CODE = CORRECT_CODE.replace(
    "def closed_form(x0, t, alphas):\n",
    "_burned = False\ndef closed_form(x0, t, alphas):\n    global _burned\n    import time\n"
    "    started = time.process_time()\n    while not _burned and time.process_time() - started < 3:\n        pass\n"
    "    _burned = True\n",
)
# Answers only the public inputs (the student kit shows them), each with a catalogued mistake, and raises
# on every other input: before issue 20 the mistakes were named from the public input alone and the
# functions' other checks passed "given your values" (6 of 12 points for computing nothing).
LOOKUP_TABLE_CODE = """\
import torch
import torch.nn.functional as F

def closed_form(x0, t, alphas):
    if not torch.equal(x0, torch.tensor([[1.0, -2.0], [0.5, 3.0]])):
        raise KeyError("not in my table")
    alpha_bar = torch.prod(alphas[:t])
    return alpha_bar * x0, 1 - alpha_bar  # the square root missing

def reparameterize(mu, logvar):
    if not torch.equal(mu[0], torch.tensor([0.0, 1.0, -2.0, 0.5])):
        raise KeyError("not in my table")
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    if tuple(x.shape) != (3, 1, 28, 28):  # the public input's batch (assignments/a10/plan.py)
        raise KeyError("not in my table")
    bce = F.binary_cross_entropy(x_hat, x.view(-1, 784))  # the mean, not the sum
    return bce + kl_loss_weight * -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
"""
STUB_CODE = (TEMPLATE.closed_form, TEMPLATE.reparameterize, TEMPLATE.vae_loss)
CPU_HOG = "import os, time\nfor _ in range(60):\n    if os.fork() == 0:\n        while True:\n            pass\ntime.sleep(30)"


def leak_if(condition: str, what: str) -> str:
    return f"if {condition}:\n    raise RuntimeError('LEAKED {what}')\n"


# What the grader once read from a work dir after the notebook ran; it now reads memory files its
# zygote handed the child (graders.execute.handover.ChildChannel), so planting these changes nothing.
GRADER_FILES = ("executed.ipynb", ".a10-grader-outcome.json", ".a10-grader-running-cell.json")


def plant_links(decoy: Path) -> str:
    """Replace the files the grader reads with links to `decoy` (another student's results, a secret)."""
    return (
        f"import os\nfor name in {GRADER_FILES!r}:\n    if os.path.lexists(name):\n        os.remove(name)\n"
        f"    os.symlink({str(decoy)!r}, name)\n"
    )


def look_around(repo: Path, allowed_top: set[str]) -> str:
    """Everything a notebook could borrow from the machine: the solution, the repository's history,
    the reference, other folders at the top of the disk, secrets in /etc."""
    return (
        "import os\n"
        + leak_if(f"os.path.exists({str(repo / 'assignments' / 'a10' / 'handout' / 'solution.ipynb')!r})", "the solution notebook")
        + leak_if(f"os.path.exists({str(repo / '.git')!r})", "the history of the repository")
        + leak_if(f"set(os.listdir('/')) - {allowed_top!r}", "top-level folders")
        + leak_if("[n for n in ('shadow', 'gshadow', 'sudoers', 'ssh', 'pip.conf') if os.path.lexists('/etc/' + n)]", "/etc secrets")
        + "try:\n    import reference\nexcept ImportError:\n    pass\nelse:\n    raise RuntimeError('LEAKED the reference package')\n"
    )


def lift_caps(function: str = "closed_form") -> str:
    """Raise the output caps from inside the child, then flood a cell and the probe cell (from a probed
    function) far past them, but within what the grader reads (graders.execute.jobs.MAX_EXECUTED_BYTES)."""
    return (
        "import sys\nfrom IPython.display import display\nengine = sys.modules.get('graders.execute.shell_engine')\n"
        "if engine is not None:\n    engine.MAX_DISPLAY_BYTES = engine.MAX_STREAM_CHARS = engine.MAX_OUTPUTS_PER_CELL = 10**12\n"
        f"_original = {function}\n"
        f"def {function}(*args, **kwargs):\n    print('y' * 200_000)\n    return _original(*args, **kwargs)\n"
        "print('x' * 6_000_000)\nfor i in range(3_000):\n    display(i)"
    )


def hostile_notebooks(
    *, reference_dir: Path, submissions_dir: Path, listening_port: int, outside_file: Path, decoy: Path, repo: Path, allowed_top: set[str]
) -> dict[str, str]:
    return {
        "look-around": notebook(CORRECT_CODE, look_around(repo, allowed_top)),
        "print-environment": notebook(
            CORRECT_CODE,
            "import os\nprint(dict(os.environ))\nprint(open('/proc/self/environ').read())\nprint(open('/proc/1/environ').read())",
            "raise RuntimeError(str(os.environ))",
        ),
        "lift-output-caps": notebook(CORRECT_CODE, lift_caps()),
        "forged-outcome-types": notebook(
            CORRECT_CODE,
            "import json, os\nopen('.a10-grader-outcome.json', 'w').write(json.dumps({'submission_id': 1, 'finished': 'yes'}))\nos._exit(0)",
        ),
        "deep-json-outcome": notebook(CORRECT_CODE, "import os\nopen('.a10-grader-outcome.json', 'w').write('[' * 200_000)\nos._exit(0)"),
        "endless-uninterruptible": notebook(
            CORRECT_CODE,
            "import time\nwhile True:\n    try:\n        time.sleep(0.2)\n    except KeyboardInterrupt:\n        pass",
        ),
        "memory-bomb": notebook(CORRECT_CODE, "import numpy as np\nhog = np.ones(3 * 2**30 // 8)"),
        "fork-bomb": notebook(
            CORRECT_CODE,
            "import os, time\nfor _ in range(10_000):\n    if os.fork() == 0:\n        time.sleep(60)\n        os._exit(0)",
        ),
        "sys-exit": notebook(CORRECT_CODE, "import sys\nsys.exit(1)"),
        "segfault": notebook(CORRECT_CODE, "import ctypes\nctypes.string_at(0)"),
        "network-call": notebook(
            CORRECT_CODE,
            f"import socket\ns = socket.create_connection(('127.0.0.1', {listening_port}), timeout=3)\n"
            "raise RuntimeError('LEAKED network')",
        ),
        "read-reference": notebook(
            CORRECT_CODE,
            "import os\n"
            + leak_if(f"os.path.exists({str(reference_dir / 'closed_form.py')!r})", "reference")
            + leak_if(f"os.listdir({str(submissions_dir)!r})", "submissions")
            + f"open({str(reference_dir / 'closed_form.py')!r}).read()",
        ),
        "list-processes": notebook(
            CORRECT_CODE,
            "import os\n" + leak_if("[p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()]", "other processes"),
        ),
        "write-outside": notebook(CORRECT_CODE, f"open({str(outside_file)!r}, 'w').write('pwned')"),
        "planted-links": notebook(CORRECT_CODE, plant_links(decoy) + "os._exit(0)"),
        "not-a-notebook-left": notebook(CORRECT_CODE, "import os\nopen('executed.ipynb', 'w').write('[]')\nos._exit(0)"),
        "forged-outcome": notebook(CORRECT_CODE, "import os\nopen('.a10-grader-outcome.json', 'w').write('{not json')\nos._exit(0)"),
        "print-50mb": notebook(CORRECT_CODE, "print('x' * 50_000_000)"),
        "image-20mb": notebook(
            CORRECT_CODE,
            "import base64, os\nfrom IPython.display import display\n"
            "display({'image/png': base64.b64encode(os.urandom(15_000_000)).decode()}, raw=True)",
        ),
        "zoë smith": notebook(CORRECT_CODE),
        "lookup-table": notebook(LOOKUP_TABLE_CODE),
        "stub": notebook(*STUB_CODE),
        # A megabyte of the markdown that made the answer reader quadratic (issue 20: 7,000 `\mu ` took a
        # batch from 17 s to 104 s, 40,000 `<!--` about 300 s), below correct answers in the same cell.
        "markdown-statements": notebook(CORRECT_CODE, answers=ANSWERS + "\n\n$$" + "\\mu " * 250_000 + "$$"),
        "markdown-comments": notebook(CORRECT_CODE, answers=ANSWERS + "\n\n" + "<!--" * 250_000),
    }


def write_hostile(folder: Path, **paths) -> None:
    for name, text in hostile_notebooks(**paths).items():
        (folder / f"{name}.ipynb").write_text(text, encoding="utf-8")


# Forgeries of the probe payload: each wraps IPython's publish_display_data, through which the
# grader's probe cell hands its results back, and rewrites the results before they leave.
_WRAP_PUBLISH = """\
import base64, zlib
import IPython.display
import numpy as np
_publish = IPython.display.publish_display_data

def _encode(array):
    return {"kind": "array", "origin": "numpy", "dtype": array.dtype.str, "shape": list(array.shape),
            "data": base64.b64encode(zlib.compress(array.tobytes(), 9)).decode()}

def _forging(data, *args, **kwargs):
    payload = data.get("application/vnd.a10-grader.probe+json")
    if payload:
        forge(payload)
    return _publish(data, *args, **kwargs)

IPython.display.publish_display_data = _forging
"""

# A 256 MiB |b1 array compresses to ~260 KB: decoded and converted to float64 it would be 2 GiB.
OVERSIZED_PAYLOAD = (
    _WRAP_PUBLISH
    + """
def forge(payload):
    bomb = _encode(np.zeros(256 * 2**20, dtype=bool))
    for cid in ("closed_form/public", "vae_loss/public/w=0"):
        payload["calls"][cid] = {"ok": True, "value": bomb}
"""
)

# A loss with the KL sign flipped, and the weight-30 training run replaced, with the runtime's own
# codec, by outputs that show the expected direction: x_hat = 0.5, mu = logvar = 0 (a posterior at the prior).
FORGED_EXPERIMENT = (
    _WRAP_PUBLISH
    + """
def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    bce = F.binary_cross_entropy(x_hat, x.view(-1, 784), reduction="sum")
    return bce + kl_loss_weight * 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

def forge(payload):
    runs = payload["experiment"]["value"]["runs"]
    x_hat, mu, logvar = (item["shape"] for item in runs["30.0"]["items"])
    runs["30.0"] = {"kind": "sequence", "items": [_encode(np.full(x_hat, 0.5, dtype=np.float16)),
                    _encode(np.zeros(mu, dtype=np.float32)), _encode(np.zeros(logvar, dtype=np.float32))]}
"""
)


def forging_notebooks() -> dict[str, str]:
    return {
        "oversized-payload": notebook(CORRECT_CODE, OVERSIZED_PAYLOAD),
        "forged-experiment": notebook(CORRECT_CODE, FORGED_EXPERIMENT),
        "honest": notebook(CORRECT_CODE),
    }


# ----------------------------------------------------------------------------- round 3: what the view and the probe give away

# A notebook that defines nothing that works: what every attack below must not beat.
STUB_CODE = """\
def closed_form(x0, t, alphas):
    raise NotImplementedError

def reparameterize(mu, logvar):
    raise NotImplementedError

def vae_loss(x, x_hat, mu, logvar, kl_loss_weight=1.0):
    raise NotImplementedError
"""

# Every file of the view a reader could mine for code: text files up to a size, walked from '/'.
_WALK_VIEW = """\
import os, sys
def _view_texts(skip=('/proc', '/sys', '/dev')):
    for top, dirs, files in os.walk('/', followlinks=False):
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in skip]
        for name in files:
            if name.endswith(('.py', '.pyi', '.txt', '.json', '.ipynb', '.md', '.cfg', '.toml', '.pth')):
                path = os.path.join(top, name)
                try:
                    if os.path.getsize(path) < 4_000_000:
                        with open(path, 'rb') as handle:
                            yield path, handle.read().decode('utf-8', 'replace')
                except OSError:
                    pass
"""


def normalised(text: str) -> str:
    """Code with its spacing and module prefixes gone: `torch.exp(0.5 * logvar)` reads `exp(0.5*logvar)`."""
    for prefix in ("torch.", "F.", "np.", "math."):
        text = text.replace(prefix, "")
    return "".join(text.split())


def harvest_the_view(patterns: list[str]) -> str:
    """Stub functions, then a search of the whole view for any line of the reference or of a catalogued
    mistake (as code, normalised), and, as the issue's attack did, any code that defines the answers:
    found code is executed to define the functions."""
    return (
        STUB_CODE
        + _WALK_VIEW
        + f"""
import ast, re
PATTERNS = {patterns!r}
hits, harvested = [], 0
for path, text in _view_texts():
    if path.endswith('.ipynb'):
        continue  # its own notebook holds the patterns it looks for
    flat = ''.join(text.replace('torch.', '').replace('F.', '').replace('np.', '').replace('math.', '').split())
    hits += [(path, p) for p in PATTERNS if p in flat]
    if path.endswith('.py') and re.search(r'logvar|alphas', text):
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in ('closed_form', 'reparameterize', 'vae_loss'):
                try:
                    exec(compile(ast.Module([node], []), path, 'exec'), globals())
                    harvested += 1
                except Exception:
                    pass
modules = sorted(m for m in sys.modules if m.split('.')[0] in ('graders', 'reference'))
print('MODULES', modules)
print('HARVESTED', harvested)
if hits:
    raise RuntimeError('LEAKED answers readable in the view: ' + repr(hits[:5]))
"""
    )


# Where a notebook could find the probe request before its cells are done: every file it can read
# (its work dir, /tmp, the data, its own descriptors, memory files included), every object in its
# memory, its environment. (Its own notebook is left out: it names what it looks for.)
def search_for_the_plan(markers: list[str]) -> str:
    """Correct functions, and a first cell that raises LEAKED if any of `markers` (strings only the
    probe request holds) is found. The markers are split in its source, which it reads too."""
    halves = [(marker[: len(marker) // 2], marker[len(marker) // 2 :]) for marker in markers]
    return (
        CORRECT_CODE
        + _WALK_VIEW
        + f"""
import gc
def _found(marker):
    texts = [text for path, text in _view_texts(skip=('/proc', '/sys', '/dev', '/usr', '/etc')) if not path.endswith('.ipynb')]
    for fd in os.listdir('/proc/self/fd'):
        try:  # non-blocking: a pipe with nothing in it (a kernel's own output capture) answers at once, not never
            own = os.open(f'/proc/self/fd/{{fd}}', os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            texts.append(os.read(own, 1 << 22).decode('utf-8', 'replace'))
        except OSError:
            pass
        finally:
            os.close(own)
    texts += [o if isinstance(o, str) else o.decode('utf-8', 'replace') for o in gc.get_objects() if isinstance(o, (str, bytes))]
    texts += [repr(o) for o in gc.get_objects() if isinstance(o, dict)]
    texts.append(repr(dict(os.environ)))
    return [text[:80] for text in texts if text is not marker and marker in text]
found = [hit for first, second in {halves!r} for hit in _found(first + second)]
if found:
    raise RuntimeError('LEAKED the probe request before the probe: ' + repr(found[:3]))
"""
    )


def leak_during_the_probe(marker: str) -> str:
    """Correct functions that note every input they are called with, and try to carry what they saw
    into a report: in an exception of their own, printed, and written into an earlier cell's outputs
    (the executed notebook is in the same process on the warm path)."""
    return (
        CORRECT_CODE
        + f"""
import gc, nbformat
_seen = []
_closed_form = closed_form
def closed_form(x0, t, alphas):
    _seen.append(repr(x0.flatten().tolist()[:3]))
    print({marker!r}, _seen)
    for cell in [o for o in gc.get_objects() if isinstance(o, dict) and o.get('cell_type') == 'code']:
        cell.setdefault('outputs', []).append(nbformat.v4.new_output('error', ename='ValueError', evalue={marker!r} + repr(_seen), traceback=[]))
    if len(_seen) > 1:
        raise ValueError({marker!r} + ' ' + ' '.join(_seen))
    return _closed_form(x0, t, alphas)
"""
    )


# Ask for the probe request early, as the harness would, from inside a cell: whatever comes back
# arrives after the notebook's record was taken, and the real probe then finds nothing to hand over.
ASK_EARLY = """\
import os, socket, stat
request = ''
for fd in map(int, os.listdir('/proc/self/fd')):
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            continue
        for other in map(int, os.listdir('/proc/self/fd')):  # a record first, as the harness writes one
            try:
                if os.readlink(f'/proc/self/fd/{other}').startswith('/memfd:'):
                    os.pwrite(other, b'{"not": "a notebook"}', 0)
            except OSError:
                pass
        conversation = socket.socket(fileno=os.dup(fd))
        conversation.sendall(b'probe')
        _, fds, _, _ = socket.recv_fds(conversation, 16, 1)
        request += os.read(fds[0], 1 << 22).decode()
    except OSError:
        pass
print(request)
"""


def fill_the_disk(limit_mib: int) -> str:
    """Write into the work dir until the disk says no (the cell's error is what stopped it)."""
    return f"chunk = b'x' * 2**20\nfor index in range({4 * limit_mib}):\n    with open(f'fill-{{index % 4}}.bin', 'ab') as handle:\n        handle.write(chunk)\n"


def spy_on_neighbours(prefix: str) -> str:
    """Look for any other submission id starting with `prefix`: in frames, objects, environment, /proc,
    descriptors. Sleeps first so that its neighbour is surely running (the batch grades two at once)."""
    return (
        CORRECT_CODE
        + f"""
import gc, os, re, sys, time
time.sleep(1.5)
own = set()
seen = set()
def _look(text):
    seen.update(re.findall({prefix!r} + r'[a-z]+', text))
frame = sys._getframe()
while frame is not None:
    _look(repr(frame.f_locals))
    frame = frame.f_back
for o in gc.get_objects():
    if isinstance(o, (str, bytes)):
        _look(o if isinstance(o, str) else o.decode('utf-8', 'replace'))
    elif isinstance(o, dict):
        try:
            _look(repr(o))
        except Exception:
            pass
_look(repr(dict(os.environ)))
for name in os.listdir('/proc'):
    for part in ('cmdline', 'environ'):
        try:
            _look(open(f'/proc/{{name}}/{{part}}', 'rb').read().decode('utf-8', 'replace'))
        except OSError:
            pass
for fd in os.listdir('/proc/self/fd'):
    try:
        _look(open(f'/proc/self/fd/{{fd}}', 'rb').read(1 << 20).decode('utf-8', 'replace'))
    except OSError:
        pass
print('SEEN', sorted(seen))
if len(seen) > 1:
    raise RuntimeError('LEAKED a neighbour: ' + repr(sorted(seen)))
"""
    )
