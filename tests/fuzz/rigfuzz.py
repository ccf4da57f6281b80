"""A seeded mutator of rig files, and the check every mutated file must pass.

Each case takes an example rig (``examples/*.toml``), applies one to three mutations - a value replaced by an
edge value (``inf``, ``nan``, huge, negative, zero, markup-like text, another type), a key removed or added, an
array entry duplicated, a device block repeated, a value nested hundreds of levels deep, or a byte-level cut,
flip or non-UTF-8 insertion - and runs the file through load, plan, terminal rendering and JSON. The only
exceptions allowed are rigsync errors that name the file; a case may not run past its timeout.

The suite runs a few hundred cases (``test_fuzz_rig_files.py``); a bigger one-off run:
``PYTHONPATH=src python3 -m tests.fuzz.rigfuzz --cases 5000 --seed 1``.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import math
import random
import re
import signal
import time
import tomllib
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))

EDGE_NUMBERS: tuple[float | int, ...] = (
    0, -0.0, -1, 1, 0.5, 1e-9, -1e-9, 5e-324, 1e9, 1e15, 1e300, -1e300, math.inf, -math.inf, math.nan,
    2**31, 2**53 + 1, 2**63 - 1, -(2**63), 2**64, 10**30, -2e6,
)
MARKUP_TEXT = ("[/x]", "[[hosts]]", ":smile:", "a:b:c", "[bold]x[/bold]", "[red]", "\\[x]", "[link=x]y")
EDGE_TEXT = (*MARKUP_TEXT, "", " ", "é", "\t", "x" * 3000, "usb:", "usb:a:b", "gmsl:q:99999999999999999999",
             "eth:", "external", "auto", "0")
OTHER_TYPES: tuple[Any, ...] = ({}, [], "1", 1, 1.5, True, [1, 2, 3], {"a": 1}, [{"a": 1}])
BAD_BYTES = (b"\xff", b"\xfe\xff", b"\xc3", b"\x80\x80", b"\x00", b"\xed\xa0\x80")


# --- a small TOML writer (inline form) -----------------------------------------------------------------

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else _string(k)


def _string(s: str) -> str:
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


@dataclass(frozen=True)
class Deep:
    """A value nested ``depth`` levels deep in arrays (or inline tables), written without recursion."""

    depth: int
    tables: bool

    def toml(self) -> str:
        if self.tables:
            return "{a = " * self.depth + "1" + "}" * self.depth
        return "[" * self.depth + "1" + "]" * self.depth


def _value(v: Any) -> str:
    if isinstance(v, Deep):
        return v.toml()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def dumps(data: dict[str, Any]) -> str:
    """TOML for ``data``: one ``key = value`` line per top-level key, everything below it inline."""
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in data.items())


# --- mutations ---------------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


def _leaves(node: Any, path: Path_ = ()) -> Iterator[Path_]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list) and node:
        yield path
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    else:
        yield path


def _nodes(node: Any, path: Path_ = ()) -> Iterator[Path_]:
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _nodes(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _nodes(v, (*path, i))


def _get(data: Any, path: Path_) -> Any:
    for p in path:
        data = data[p]
    return data


def _set(data: Any, path: Path_, value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def _strings(node: Any) -> list[str]:
    return [v for p in _leaves(node) if isinstance(v := _get(node, p), str)]


def _edge(rng: random.Random, old: Any, data: dict[str, Any]) -> Any:
    roll = rng.random()
    if roll < 0.12:
        return copy.deepcopy(rng.choice(OTHER_TYPES))
    if isinstance(old, bool):
        return not old
    if isinstance(old, (int, float)):
        v = rng.choice(EDGE_NUMBERS)
        if rng.random() < 0.3:
            v = rng.choice((old * 10, -old, old + 0.5, old * 1e6, old * 1e-6, old + 1, old - 1))
        return int(v) if isinstance(old, int) and isinstance(v, float) and math.isfinite(v) and v == int(v) \
            and rng.random() < 0.5 else v
    if isinstance(old, str):
        if roll < 0.35:
            pool = _strings(data)
            return rng.choice(pool) if pool else ""
        if roll < 0.5:
            return old + rng.choice(MARKUP_TEXT)
        return rng.choice(EDGE_TEXT)
    if isinstance(old, list):
        return rng.choice(([], [rng.choice(EDGE_NUMBERS)] * 3, [0, 0, 0], ["x"], old * 2))
    return rng.choice(OTHER_TYPES)


def _deep(rng: random.Random) -> Deep:
    return Deep(rng.choice((50, 300, 400, 1000, 3000)), rng.random() < 0.3)


def _repeat_devices(rng: random.Random, data: dict[str, Any], big: bool) -> None:
    devices = data.get("devices")
    if not isinstance(devices, list) or not devices or not all(isinstance(d, dict) for d in devices):
        return
    n = rng.choice((10, 60, 300) if big else (5, 20))
    for i in range(n):
        d = copy.deepcopy(rng.choice(devices[: max(1, len(devices))]))
        d["id"] = f"{d.get('id', 'dev')}-x{i}"
        d["serial"] = f"{d.get('serial', 's')}-x{i}"
        devices.append(d)


def mutate_tree(rng: random.Random, data: dict[str, Any], big: bool = True) -> None:
    """One structural mutation of a parsed rig, in place (``big``: device blocks repeated up to 300 times)."""
    op = rng.random()
    if op < 0.55:
        leaves = [p for p in _leaves(data) if p]
        path = rng.choice(leaves)
        _set(data, path, _edge(rng, _get(data, path), data))
    elif op < 0.65:
        path = rng.choice([p for p in _nodes(data) if p])
        parent = _get(data, path[:-1])
        del parent[path[-1]]
    elif op < 0.72:
        tables = [p for p in _nodes(data) if isinstance(_get(data, p), dict)]
        table = _get(data, rng.choice(tables))
        table[rng.choice(("extra", "[/x]", "a:b:c", "serail", "ID"))] = copy.deepcopy(rng.choice(OTHER_TYPES))
    elif op < 0.80:
        lists = [p for p in _nodes(data) if isinstance(_get(data, p), list) and _get(data, p)]
        if lists:
            seq = _get(data, rng.choice(lists))
            seq.insert(rng.randrange(len(seq) + 1), copy.deepcopy(rng.choice(seq)))
    elif op < 0.85:
        _repeat_devices(rng, data, big)
    elif op < 0.92:
        path = rng.choice([p for p in _nodes(data) if p])
        _set(data, path, _deep(rng))
    else:
        path = rng.choice([p for p in _leaves(data) if p])
        _set(data, path, rng.choice(EDGE_NUMBERS) if rng.random() < 0.5 else rng.choice(MARKUP_TEXT))


def mutate_bytes(rng: random.Random, raw: bytes) -> bytes:
    """One byte-level mutation: a cut, a flipped byte, bytes that are not UTF-8, a line dropped or doubled."""
    op = rng.random()
    if not raw:
        return rng.choice(BAD_BYTES)
    if op < 0.2:
        return raw[: rng.randrange(len(raw))]
    if op < 0.4:
        i = rng.randrange(len(raw))
        return raw[:i] + bytes([raw[i] ^ (1 << rng.randrange(8))]) + raw[i + 1:]
    if op < 0.6:
        i = rng.randrange(len(raw) + 1)
        return raw[:i] + rng.choice(BAD_BYTES) + raw[i:]
    if op < 0.7:
        return raw.decode("utf-8", "replace").encode("utf-16")
    lines = raw.split(b"\n")
    i = rng.randrange(len(lines))
    if op < 0.85:
        del lines[i]
    else:
        lines.insert(i, lines[i])
    if rng.random() < 0.2:
        lines.insert(rng.randrange(len(lines) + 1), b"x = " + b"[" * 5000 + b"]" * 5000)
    return b"\n".join(lines)


def mutated(seed: int, big: bool = True) -> tuple[str, bytes]:
    """Case ``seed``: the example it came from and the mutated file's bytes (``big``: see :func:`mutate_tree`)."""
    rng = random.Random(seed)
    example = rng.choice(EXAMPLES)
    raw = example.read_bytes()
    if rng.random() < 0.8:
        data = tomllib.loads(raw.decode())
        for _ in range(rng.choice((1, 1, 2, 3))):
            mutate_tree(rng, data, big)
        raw = dumps(data).encode()
        if rng.random() < 0.1:
            raw = mutate_bytes(rng, raw)
    else:
        raw = mutate_bytes(rng, raw)
    return example.stem, raw


# --- the check ---------------------------------------------------------------------------------------

class CaseTimeout(BaseException):
    """A case ran past its time limit (a BaseException so that no ``except Exception`` in the code hides it)."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(*_: object) -> None:
        raise CaseTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Outcome:
    seed: int
    example: str
    result: str
    """``ok`` (loaded and planned), ``rejected`` (a rigsync error naming the file), ``unnamed`` (a rigsync
    error that does not name the file), ``crash`` (any other exception) or ``timeout``."""
    detail: str
    seconds: float


def check_file(path: Path) -> tuple[str, str]:
    """Load, plan, render (terminal, JSON) one rig file; (result, detail) as in :class:`Outcome`."""
    from rich.console import Console

    from rigsync.cli.plan_view import plan_view
    from rigsync.core.errors import RigsyncError
    from rigsync.plan import build_plan
    from rigsync.plan.serialize import plan_to_json
    from rigsync.spec import load_rig

    try:
        plan = build_plan(load_rig(path))
        console = Console(file=io.StringIO(), width=160)
        console.print(plan_view(plan))
        json.dumps(plan_to_json(plan), allow_nan=False)
    except RigsyncError as err:
        text = str(err)
        return ("rejected" if text.startswith(f"{path.name}: ") else "unnamed"), text[:300]
    except CaseTimeout:
        raise
    except BaseException as exc:  # anything else is the bug the fuzz looks for
        return "crash", crash(exc)
    return "ok", ""


def crash(exc: BaseException) -> str:
    """An unexpected exception in one line: its type, its message and where it was raised."""
    last = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__}: {str(exc)[:200]} at {Path(last.filename).name}:{last.lineno}"


def limited(check: Callable[[Path], tuple[str, str]], path: Path, timeout_s: float) -> tuple[str, str, float]:
    """``check(path)`` within ``timeout_s``: its (result, detail) and the seconds it took; ``timeout`` if over."""
    t0 = time.perf_counter()
    try:
        with time_limit(timeout_s):
            result, detail = check(path)
    except CaseTimeout:
        result, detail = "timeout", f"over {timeout_s} s"
    return result, detail, time.perf_counter() - t0


def run_case(seed: int, folder: Path, timeout_s: float, big: bool = True) -> Outcome:
    example, raw = mutated(seed, big)
    path = folder / f"case{seed}.toml"
    path.write_bytes(raw)
    try:
        return Outcome(seed, example, *limited(check_file, path, timeout_s))
    finally:
        path.unlink()


def check_cli(path: Path) -> tuple[str, str]:
    """``rigsync plan`` on a file that does not load: ``exact`` (stderr is ``error: <the error>``), ``changed``
    (the same words with other characters: markup or emoji interpreted), ``crash``; ``loads`` otherwise."""
    from contextlib import redirect_stderr, redirect_stdout

    from rigsync.cli.main import main as cli
    from rigsync.core.errors import RigsyncError
    from rigsync.spec import load_rig

    try:
        load_rig(path)
    except RigsyncError as err:
        expected = f"error: {err}"
    except Exception:
        expected = None  # a crash of the loader itself (counted by check_file)
    else:
        return "loads", ""
    out, errors = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(errors):
            cli(["plan", str(path)])
    except CaseTimeout:
        raise
    except BaseException as exc:
        return "crash", crash(exc)
    shown = " ".join(errors.getvalue().split())  # line wrapping aside
    if expected is not None and shown == " ".join(expected.split()):
        return "exact", ""
    return "changed", f"{expected!r} shown as {shown!r}"[:300]


def main() -> None:
    import sys
    import tempfile
    from collections import Counter

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--slow", type=float, default=2.0, help="list cases slower than this")
    ap.add_argument("--cli", action="store_true", help="instead: how rigsync plan prints the errors of the cases")
    args = ap.parse_args()
    sys.setrecursionlimit(1000)
    outcomes = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.cases):
            seed = args.seed * 1_000_000 + i
            if args.cli:
                path = Path(tmp) / f"case{seed}.toml"
                path.write_bytes(mutated(seed)[1])
                outcomes.append(Outcome(seed, "", *limited(check_cli, path, args.timeout)))
                continue
            outcomes.append(run_case(seed, Path(tmp), args.timeout))
    elapsed = time.perf_counter() - t0
    print(f"{args.cases} cases in {elapsed:.1f} s: {dict(Counter(o.result for o in outcomes))}")
    crashes = Counter(o.detail.split(" at ")[0].split(":")[0] + " at " + o.detail.rsplit(" at ", 1)[-1]
                      for o in outcomes if o.result == "crash")
    for what, n in crashes.most_common():
        print(f"  crash {n:5d}  {what}")
    for o in outcomes:
        if o.result in ("unnamed", "timeout", "crash", "changed") or o.seconds > args.slow:
            print(f"  seed {o.seed} {o.example} {o.result} {o.seconds:.1f} s: {o.detail[:160]}")


if __name__ == "__main__":
    main()
