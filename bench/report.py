"""The report: the targets of bench/targets.toml against the figures, the commit and the machine
measured, and docs/PERFORMANCE.md rendered from one run's results."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import HERE, ROOT, pg_connect

TARGETS = HERE / "targets.toml"
PACKAGES: tuple[str, ...] = ("starlette", "uvicorn", "httptools", "uvloop", "cryptography")
PACKAGES += ("joserfc", "argon2-cffi", "SQLAlchemy", "sqlmodel", "psycopg")
Row = dict[str, Any]


@dataclass(frozen=True)
class Target:
    case: str
    metric: str
    source: str
    min: float | None = None
    max: float | None = None
    db: str | None = None
    relative_to: str | None = None

    def text(self) -> str:
        bound = f">= {self.min:g}" if self.min is not None else f"<= {self.max:g}"
        return f"{bound}x {self.relative_to}" if self.relative_to else f"{bound} {self.metric}"

    def met(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


def load_targets(path: Path = TARGETS) -> list[Target]:
    return [Target(**entry) for entry in tomllib.loads(path.read_text())["target"]]


def check(case: str, metric: str, value: float) -> str:
    """A standalone benchmark's figure against its targets: one line each."""
    lines = []
    for t in load_targets():
        if t.case == case and t.metric == metric:
            verdict = "pass" if t.met(value) else "MISS"
            lines.append(f"target {t.text()} ({t.source}): {value:,.1f}, {verdict}")
    return "\n".join(lines)


# -- the targets of the runner's cases ---------------------------------------------------------


def figure(row: Row, metric: str) -> float | None:
    value = row.get(metric)
    if isinstance(value, list):  # per worker: the largest counts
        return max(value) if value else None
    return None if value is None else float(value)


def reference(target: Target, row: Row, rows: list[Row]) -> float | None:
    """The same metric of what the figure is compared with: the row's own baseline, a peer, or
    another case on the same database."""
    assert target.relative_to is not None
    own = row.get("baseline", {}).get(target.relative_to)
    if own is not None:
        return float(own)
    found = [
        r
        for r in rows
        if r["case"] == target.relative_to and r["db"] in ("-", row["db"]) and r.get("ok")
    ]
    return figure(found[0], target.metric) if found else None


def measured(target: Target, row: Row | None, rows: list[Row]) -> tuple[str, str]:
    """What was measured against ``target`` in ``row`` (``None``: not run), and the verdict."""
    counted = row and (row.get("ok") or target.metric == "unexpected")  # a miss counts too
    value = figure(row, target.metric) if row and counted else None
    if row is None:
        return "not run", "-"
    if value is None:
        reason = row.get("error", f"{row.get('unexpected')} unexpected answers")
        return f"failed: {str(reason)[:60]}", "MISS"
    text = f"{value:,.1f} {target.metric}"
    if target.relative_to:
        ref = reference(target, row, rows)
        if ref is None:
            return f"{text}; no {target.relative_to} in this run", "-"
        text, value = f"{value / ref:.2f}x ({value:,.1f} vs {ref:,.1f})", value / ref
    return text, "pass" if target.met(value) else "MISS"


def worst(target: Target, rows: list[Row]) -> Row | None:
    """The authority row whose figure is furthest from ``target``'s side."""
    mine = [r for r in rows if r["db"] != "-" and figure(r, target.metric) is not None]
    pick = max if target.max is not None else min
    return pick(mine, key=lambda r: figure(r, target.metric) or 0.0) if mine else None


def target_rows(rows: list[Row], dbs: list[str], cases: set[str]) -> list[list[str]]:
    """[case, db, target, measured, verdict, source] for every target of one of ``cases``."""
    out = []
    for t in load_targets():
        if t.case == "*":
            row = worst(t, rows)
            where = f"worst: {row['db']} {row['case']}" if row else "-"
            out.append(["every case", where, t.text(), *measured(t, row, rows), t.source])
        elif t.case in cases:  # (the others are standalone benchmarks')
            for db in [d for d in dbs if t.db in (None, d)]:
                found = [r for r in rows if r["case"] == t.case and r["db"] == db]
                row = found[0] if found else None
                out.append([t.case, db, t.text(), *measured(t, row, rows), t.source])
    return out


# -- the commit and the machine ----------------------------------------------------------------


def git(*args: str) -> str:
    out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    return out.stdout.rstrip("\n")


def tree_state() -> dict[str, Any]:
    """The commit checked out and the files that differ from it (untracked ones included)."""
    dirty = [line[3:] for line in git("status", "--porcelain").splitlines() if line.strip()]
    return {
        "commit": git("rev-parse", "HEAD"),
        "subject": git("log", "-1", "--format=%s"),
        "dirty": dirty,
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "-"


def _wrk_version() -> str:
    query = ["dpkg-query", "-W", "-f=${Version}", "wrk"]
    return subprocess.run(query, capture_output=True, text=True).stdout or "-"


def machine(dbs: list[str]) -> dict[str, str]:
    facts = {
        "cores": str(os.cpu_count()),
        "CPU": _cpu_model(),
        "kernel": platform.release(),
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "wrk": _wrk_version(),
        "packages": ", ".join(f"{p} {_version(p)}" for p in PACKAGES),
        "load average at the start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }
    if "postgres" in dbs:
        with pg_connect() as conn:
            facts["PostgreSQL"] = conn.execute("SHOW server_version").fetchone()[0]
    return facts


# -- markdown ----------------------------------------------------------------------------------


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(
        lines + ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    )


def _n(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def result_rows(rows: list[Row]) -> list[list[str]]:
    out = []
    for r in rows:
        name = r["case"] if r["db"] != "-" else f"{r['case']} {r['label']}"  # a peer
        cells = [r["db"], name, r["layout"]]
        if not r.get("rps"):
            out.append([*cells, "FAILED", "-", "-", "-", "-", "-", "-", str(r.get("error"))[:80]])
            continue
        rps = _n(r["rps"], ",.1f" if r["rps"] < 100 else ",.0f")
        if r.get("rounds_rps"):  # the median round, and every round's
            rps += " (" + " / ".join(_n(v, ",.0f") for v in r["rounds_rps"]) + ")"
        out.append(
            [
                *cells,
                rps,
                _n(r["p50_ms"], ".1f"),
                _n(r["p99_ms"], ".1f"),
                unexpected(r),
                _n(r.get("cpu_ms_per_req"), ".3f"),
                _n(r.get("core0_other"), ".2f"),
                "/".join(f"{v:.0f}" for v in r["rss_mb"]),
                r.get("came_back", ""),
            ]
        )
    return out


def unexpected(row: Row) -> str:
    """The answers that should not have been; with the statuses, where the case counts them."""
    count = str(row.get("unexpected", row["non2xx"]))
    statuses = row.get("statuses")
    if not statuses:
        return count
    return f"{count} ({', '.join(f'{s}: {n:,}' for s, n in sorted(statuses.items()))})"


def header(result: dict[str, Any]) -> list[str]:
    tree, end = result["tree"], result["tree_end"]
    lines = [
        "# Performance",
        f"Generated by `bench/run.py` from commit `{tree['commit']}` ({tree['subject']}), "
        f"run `{result['run_id']}` at {result['started']}:",
        f"```sh\n{result['command']}\n```",
    ]
    if tree["dirty"]:
        lines.append(
            f"**Run from a tree with uncommitted changes (`--allow-dirty`)**: {len(tree['dirty'])}"
            f" file(s) differ from the commit ({', '.join(tree['dirty'][:10])}), so these figures "
            "cannot be reproduced from it."
        )
    if (end["commit"], end["dirty"]) != (tree["commit"], tree["dirty"]):
        lines.append("**The tree changed during the run**: the figures may mix two versions.")
    if result.get("interrupted"):
        lines.append(f"**The run did not complete** ({result['interrupted']}).")
    return lines


def render(result: dict[str, Any]) -> str:
    opts, rows = result["options"], result["rows"]
    facts = {**result["machine"], "load average at the end": result["load_end"]}
    method = [
        f"* Placement: {result['placement']}.",
        f"* Each case: a fresh `authority serve` (production settings, no access log) on "
        f"{', '.join(opts['db'])}, one sanity request (*came back*), a {opts['warmup']} s "
        f"warm-up, a wait until the server is idle, then `wrk -c{opts['connections']} "
        f"-d{opts['duration']}s --latency` with a script of `bench/wrk/` (`-t` = workers).",
        "* *unexpected*: answers of 400 and above; for the cases answering with a redirect "
        "(`bench/wrk/redirect.lua`), every status but the expected ones (302 for authority, "
        "302 or 303 for oidc-provider) and every redirect without a code, with the count of "
        "each status.",
        "* *CPU ms/req*: utime + stime of the server's process group over the measured window, "
        "per completed request. *core 0 other*: the share of the server's core taken by "
        "anything else (pinned runs only). *RSS*: `VmRSS` per worker after the run.",
        "* The machine may be shared: compare ratios within one run, and CPU per request.",
    ]
    if opts.get("rounds", 1) > 1:
        method.append(
            f"* {opts['rounds']} rounds, every other one in reverse order; each row is the round "
            "of median req/s, its req/s followed by every round's."
        )
    head = ["db", "case", "layout", "req/s", "p50 ms", "p99 ms", "unexpected", "CPU ms/req"]
    head += ["core 0 other", "RSS MB", "came back"]
    parts = [
        *header(result),
        "## Machine",
        table(["item", "value"], [[k, v] for k, v in facts.items()]),
        "## Method",
        "\n".join(method),
        "## Results",
        table(head, result_rows(rows)),
        "## Targets (bench/targets.toml)",
        table(["case", "db", "target", "measured", "verdict", "source"], result["targets"]),
    ]
    return "\n\n".join(parts) + "\n"
