"""Hostile submissions: each tries one thing a curious or careless student might, and defines the
three functions correctly, so its grade shows whether the attempt changed anything.

An attack that *succeeds* raises `RuntimeError("LEAKED …")`, which the tests look for; one that
is stopped raises the error the sandbox causes (or is cut short by a limit).
"""

from __future__ import annotations

from pathlib import Path

from graders.execute.child import EXECUTED_FILE, OUTCOME_FILE
from graders.execute.jobs import PROGRESS_FILE
from tests.broken import CORRECT_CODE, notebook

SECRET_NAME = "A10_TEST_SECRET"  # set in the grader's environment by the tests; must reach no report
# A correct function that burns ~3 s of CPU in its first call: full marks only if the per-call limit
# does not count the time it waits for a CPU while a neighbour hogs them.
CPU_HEAVY_CODE = CORRECT_CODE.replace(
    "def closed_form(x0, t, alphas):\n",
    "_burned = False\ndef closed_form(x0, t, alphas):\n    global _burned\n    import time\n"
    "    started = time.process_time()\n    while not _burned and time.process_time() - started < 3:\n        pass\n"
    "    _burned = True\n",
)
CPU_HOG = "import os, time\nfor _ in range(60):\n    if os.fork() == 0:\n        while True:\n            pass\ntime.sleep(30)"


def leak_if(condition: str, what: str) -> str:
    return f"if {condition}:\n    raise RuntimeError('LEAKED {what}')\n"


# What the grader reads from a work dir after the notebook ran (graders.execute.zygote).
GRADER_FILES = (EXECUTED_FILE, OUTCOME_FILE, PROGRESS_FILE)


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
        + leak_if(f"os.path.exists({str(repo / 'handout' / 'solution.ipynb')!r})", "the solution notebook")
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
