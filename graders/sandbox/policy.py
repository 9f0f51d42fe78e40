"""What a sandbox should be (`SandboxPolicy`) and what it was (`SandboxReport`).

Both cross process boundaries as JSON: the policy at the zygote's pipe and in the cold kernel's
policy file, the report in the outcome a child hands back. `from_json` is strict in both, because
the report comes back from a process that ran student code: a forged one must fail to parse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

_T = TypeVar("_T")


@dataclass(frozen=True)
class SandboxPolicy:
    memory_bytes: int = 2 * 1024**3
    cpu_seconds: int = 900
    cpu_cores: float = 1.0  # the share of the machine's CPUs the notebook may use (cgroup cpu.max / cfs quota)
    max_processes: int = 64  # fork-bomb guard (a cgroup counts threads too)
    max_open_files: int = 512
    max_file_bytes: int = 256 * 1024**2  # largest file the student may write; also /tmp's size
    disk_bytes: int = 512 * 1024**2  # the size of each private dir (below)
    isolate_network: bool = True
    hidden_dirs: tuple[str, ...] = ()  # empty and read-only wherever they would show in the view
    writable_dirs: tuple[str, ...] = ()  # in the view and writable, at the same path
    # In the view and writable at the same path, each a tmpfs of `disk_bytes` of its own (inside the
    # sandbox, charged to its memory cgroup) that starts with copies of the host dir's top-level
    # files: nothing written there reaches the host's disk, and it is gone with the sandbox.
    private_dirs: tuple[str, ...] = ()
    readonly_dirs: tuple[str, ...] = ()  # in the view, read-only, at the same path
    cgroup_name: str | None = None  # unique per submission, for cgroup-based limits
    isolate_pids: bool = True  # own PID namespace and /proc (enter_sandbox may then return in a child)
    sandbox_uid: int = 65534  # a root caller runs the student code as this uid/gid
    sandbox_gid: int = 65534

    def to_json(self) -> dict[str, Any]:
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}

    @classmethod
    def from_json(cls, data: Any) -> SandboxPolicy:
        """The inverse of `to_json`; unknown keys are an error (a typo must not weaken a sandbox)."""
        return _build(cls, data)


@dataclass(frozen=True)
class SandboxReport:
    """What was really in force; goes into every results.json."""

    network_isolated: bool
    filesystem_isolated: bool
    memory_limit: str  # e.g. "cgroup v1 memory 2.0 GiB", "RLIMIT_DATA 2.7 GiB (…)", "none"
    process_limit: str  # e.g. "cgroup v1 pids 64", "RLIMIT_NPROC 64 (…)", "none"
    other_limits: tuple[str, ...]  # cpu, files, file size, core dumps, no_new_privs
    warnings: tuple[str, ...]  # loud and human-readable: what is NOT in force and why
    identity: str = ""  # who the student code runs as, inside and outside
    namespaces: tuple[str, ...] = ()  # e.g. ("mount", "network", "ipc", "pid")
    cgroup_dirs: tuple[str, ...] = ()  # the leaf cgroups the code runs in
    filesystem: tuple[str, ...] = ()  # the view: "read-only: /usr", "writable: /w", …
    cpu_limit: str = "none"  # e.g. "cgroup v1 cpu.cfs_quota_us: 1 core"
    note: str = ""  # why there is no report from inside (see `absent`)

    def to_json(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Any) -> SandboxReport:
        """Strict: every field of the right type, nothing else (the data crossed from a sandboxed process)."""
        return _build(cls, data)

    @classmethod
    def unconfined(cls, reason: str) -> SandboxReport:
        """The record of a notebook that ran without any sandbox: loud, never silently absent."""
        return cls(False, False, "none", "none", (), (f"NOT sandboxed: {reason}",))

    @classmethod
    def absent(cls, note: str) -> SandboxReport:
        """A sandboxed notebook whose process ended (or lied) before its report could be read."""
        return cls(False, False, "unknown", "unknown", (), (), note=note)


def _build(cls: type[_T], data: Any) -> _T:
    try:
        return cls(**_checked_fields(cls, data))
    except TypeError as exc:  # a required field is missing
        raise ValueError(f"{cls.__name__}: {exc}") from None


def _checked_fields(cls: type, data: Any) -> dict[str, Any]:
    """Keyword arguments for `cls` from JSON: known names only, each of its declared type."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    declared = {f.name: str(f.type) for f in fields(cls)}
    unknown = set(data) - set(declared)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
    values = {}
    for name, value in data.items():
        kind = declared[name]
        if "tuple" in kind:
            if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
                raise ValueError(f"{cls.__name__}.{name}: expected a list of strings")
            values[name] = tuple(value)
        elif _is(value, kind):
            values[name] = value
        else:
            raise ValueError(f"{cls.__name__}.{name}: {type(value).__name__} is not {kind}")
    return values


def _is(value: Any, kind: str) -> bool:
    """`kind` is the annotation as written (postponed annotations): bool, int, float, str, `str | None`."""
    if value is None:
        return "None" in kind
    if isinstance(value, bool):
        return kind == "bool"
    if kind.startswith("int"):
        return isinstance(value, int)
    if kind.startswith("float"):
        return isinstance(value, (int, float))
    if kind.startswith("str"):
        return isinstance(value, str)
    return False


@dataclass
class Findings:
    """What enter_sandbox established so far; becomes the SandboxReport."""

    network_isolated: bool = False
    filesystem_isolated: bool = False
    memory_limit: str = "none"
    process_limit: str = "none"
    cpu_limit: str = "none"
    identity: str = ""
    other_limits: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    cgroup_dirs: list[str] = field(default_factory=list)
    filesystem: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def report(self) -> SandboxReport:
        return SandboxReport(
            network_isolated=self.network_isolated,
            filesystem_isolated=self.filesystem_isolated,
            memory_limit=self.memory_limit,
            process_limit=self.process_limit,
            other_limits=tuple(self.other_limits),
            warnings=tuple(self.warnings),
            identity=self.identity,
            namespaces=tuple(self.namespaces),
            cgroup_dirs=tuple(self.cgroup_dirs),
            filesystem=tuple(self.filesystem),
            cpu_limit=self.cpu_limit,
        )
