"""The summary: ratios and target checks, the results table, and the markdown report."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

from bench.cases import PEERS
from bench.constants import CC_BODY, REPORT_MARKER, WRK_TIMEOUT
from bench.machine import machine_table
from bench.measure import Row


def find(rows: list[Row], rid: str, db: str = "-") -> Row | None:
    for row in rows:
        if row.id == rid and row.db == db and row.get("rps"):
            return row
    return None


def checks(rows: list[Row], connections: int) -> list[dict[str, str]]:
    """Each target of the issue, and the ratios to the peers: (check, target, measured, verdict)."""
    out: list[dict[str, str]] = []

    def add(check: str, target: str, measured: str, ok: bool | None) -> None:
        verdict = "-" if ok is None else ("met" if ok else "MISSED")
        out.append({"check": check, "target": target, "measured": measured, "verdict": verdict})

    a1, a5, l5 = find(rows, "A1"), find(rows, "A5"), find(rows, "L5")
    dbs = sorted({r.db for r in rows if r.db != "-"}, key=lambda d: d != "sqlite")
    for db in dbs:
        cc = find(rows, "client_credentials", db)
        if cc:
            if a1:
                ratio = cc.get("rps") / a1.get("rps")
                add(
                    f"client_credentials ES256 vs oidc-provider A1 ({db})",
                    ">= 1.20x",
                    f"{ratio:.2f}x ({cc.get('rps'):,.0f} vs {a1.get('rps'):,.0f} req/s)",
                    ratio >= 1.2,
                )
                if cc.get("cpu_ms_per_req") and a1.get("cpu_ms_per_req"):
                    cpu = a1.get("cpu_ms_per_req") / cc.get("cpu_ms_per_req")
                    add(
                        f"  same, by server CPU per request ({db})",
                        "-",
                        f"{cpu:.2f}x ({cc.get('cpu_ms_per_req'):.3f} vs "
                        f"{a1.get('cpu_ms_per_req'):.3f} ms)",
                        None,
                    )
            add(
                f"client_credentials ES256 p99 at {connections} connections ({db})",
                "<= 30 ms",
                f"{cc.get('p99_ms'):.1f} ms",
                cc.get("p99_ms") <= 30,
            )
            if l5:
                ratio = cc.get("rps") / l5.get("rps")
                add(
                    f"client_credentials ES256 vs Starlette /es256 ceiling L5 ({db})",
                    "-",
                    f"{ratio:.2f}x ({cc.get('rps'):,.0f} vs {l5.get('rps'):,.0f} req/s)",
                    None,
                )
        jwks = find(rows, "jwks", db)
        if jwks and a5:
            ratio = jwks.get("rps") / a5.get("rps")
            add(
                f"JWKS vs oidc-provider A5 ({db})",
                ">= 1.00x",
                f"{ratio:.2f}x ({jwks.get('rps'):,.0f} vs {a5.get('rps'):,.0f} req/s)",
                ratio >= 1.0,
            )
        refresh = find(rows, "refresh_token", db)
        if refresh:
            floor = 1000 if db == "sqlite" else 700
            add(
                f"refresh_token ({db})",
                f">= {floor:,} req/s, 0 non-2xx",
                f"{refresh.get('rps'):,.0f} req/s, {refresh.get('non2xx')} non-2xx",
                refresh.get("rps") >= floor and bool(refresh.get("ok")),
            )
        introspect = find(rows, "introspect", db)
        if introspect:
            add(
                f"introspect, valid ES256 access token, 1 core ({db})",
                ">= 2,000 req/s, 0 non-2xx",
                f"{introspect.get('rps'):,.0f} req/s, {introspect.get('non2xx')} non-2xx",
                introspect.get("rps") >= 2000 and bool(introspect.get("ok")),
            )
        password = find(rows, "password", db)
        argon2 = password.get("argon2") if password else None
        if password and argon2:
            ratio = password.get("rps") / argon2["verify_per_s"]
            add(
                f"password grant vs raw argon2id verify, 1 core ({db})",
                ">= 0.90x",
                f"{ratio:.2f}x ({password.get('rps'):,.1f} vs {argon2['verify_per_s']:,.1f}/s)",
                ratio >= 0.9,
            )
            if password.get("cpu_ms_per_req"):
                cpu = argon2["cpu_ms_per_verify"] / password.get("cpu_ms_per_req")
                add(
                    f"  same, by CPU: argon2 verify / password request ({db})",
                    "-",
                    f"{cpu:.2f}x ({argon2['cpu_ms_per_verify']:.1f} vs "
                    f"{password.get('cpu_ms_per_req'):.1f} ms)",
                    None,
                )
    rss = [(r.get("rss_mb"), r) for r in rows if r.system == "authority" and r.get("rss_mb")]
    if rss:
        worst, row = max(((max(v), r) for v, r in rss), key=lambda t: t[0])
        add(
            "RSS per worker after the run (largest)",
            "<= 80 MB",
            f"{worst:.1f} MB ({row.db} {row.id})",
            worst <= 80,
        )
    start = [r for r in rows if r.system == "authority" and r.get("rss_start_mb")]
    if start:
        row = max(start, key=lambda r: max(r.get("rss_start_mb")))
        add(
            "  RSS per worker at start, before any request (largest)",
            "-",
            f"{max(row.get('rss_start_mb')):.1f} MB ({row.db} {row.id})",
            None,
        )
    measured = [r for r in rows if r.system == "authority" and r.get("code")]
    if measured:  # (runs saved before the source was fingerprinted have no "code")
        first = measured[0].get("code")
        moved = [
            f"{r.db} {r.id}"
            for r in measured
            if r.get("code") != first or r.get("code_after", first) != first
        ]
        add(
            "authority's source unchanged during the run",
            "yes",
            "yes" if not moved else "changed for: " + ", ".join(moved),
            not moved,
        )
    bad = [f"{r.db} {r.id}" for r in rows if not r.get("ok")]
    add(
        "every case: sanity 2xx, 0 non-2xx, server stopped",
        "all",
        "all" if not bad else "failed: " + ", ".join(bad),
        not bad,
    )
    return out


def fmt(value: Any, spec: str = ",.0f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def results_table(rows: list[Row]) -> list[list[str]]:
    head = [
        "db",
        "case",
        "server",
        "req/s",
        "p50 ms",
        "p99 ms",
        "non-2xx",
        "CPU ms/req",
        "core 0 other",
        "RSS MB/worker",
        "what came back",
    ]
    table = [head]
    for r in rows:
        name = r.id if r.system == "authority" else f"{r.id} {PEERS.get(r.id, r.label)}"
        if not r.get("rps"):
            table.append(
                [
                    r.db,
                    name,
                    r.layout,
                    "FAILED",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    str(r.get("error", ""))[:80],
                ]
            )
            continue
        table.append(
            [
                r.db,
                name,
                r.layout,
                fmt(r.get("rps"), ",.1f" if r.get("rps") < 100 else ",.0f"),
                fmt(r.get("p50_ms"), ".1f"),
                fmt(r.get("p99_ms"), ".1f"),
                str(r.get("non2xx")),
                fmt(r.get("cpu_ms_per_req"), ".3f"),
                fmt(r.get("core0_other"), ".2f"),
                "/".join(f"{v:.0f}" for v in r.get("rss_mb", [])) or "-",
                r.get("came_back", ""),
            ]
        )
    return table


def markdown_table(table: list[list[str]], right: set[int] | None = None) -> str:
    right = right or set()
    lines = ["| " + " | ".join(table[0]) + " |"]
    lines.append(
        "|" + "|".join("---:" if i in right else "---" for i in range(len(table[0]))) + "|"
    )
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table[1:]]
    return "\n".join(lines)


def text_table(table: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    )


def argon2_lines(rows: list[Row]) -> list[str]:
    lines = []
    for r in rows:
        a = r.get("argon2")
        if a:
            lines.append(
                f"* Raw argon2id verify on core 0, measured right before the {r.db} password "
                f"case ({a['params']}, argon2-cffi `PasswordHasher` with the server's "
                f"defaults): {a['verify_per_s']:,.1f}/s, {a['cpu_ms_per_verify']:.1f} ms CPU "
                f"per verify, core 0 other {a['core0_other']:.2f}."
            )
    return lines


def wrap(text: str) -> str:
    """Prose at 100 columns; a bullet's continuation lines indented under it."""
    indent = "  " if text.startswith("* ") else ""
    return textwrap.fill(
        text, 100, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )


def placement_text(result: dict[str, Any]) -> str:
    """Where PostgreSQL ran (runs saved before it was pinned have no ``placement``)."""
    placement = result.get("placement")
    if placement is None:
        if "postgres" not in result["options"]["db"]:
            return ""
        return (
            " PostgreSQL's own processes are never pinned: they take CPU from both cores, and "
            "their CPU time is not in *CPU ms/req*."
        )
    if not placement["pinned"]:
        return (
            f" PostgreSQL's own processes were not pinned ({placement['detail']}): they take "
            "CPU from both cores, and their CPU time is not in *CPU ms/req*."
        )
    return (
        " For the 1-worker PostgreSQL cases, every thread of the PostgreSQL server's postmaster "
        f"and of its children is pinned to core 1 (like `taskset -a -p -c 1 PID`; new backends "
        f"inherit the postmaster's affinity) and given back its CPUs "
        f"({placement['original']}) after the case: server on core 0; wrk and PostgreSQL on "
        "core 1. In the *2 w, shared* case nothing is pinned, PostgreSQL included. "
        "PostgreSQL's CPU time is not in *CPU ms/req*."
    )


def method(result: dict[str, Any], rows: list[Row]) -> str:
    opts = result["options"]
    conns, secs = opts["connections"], opts["duration"]
    lines = [
        "* `authority serve` with production settings (default argon2id parameters, no access "
        "log, INFO log level), in its own process group on a free 127.0.0.1 port, on a fresh "
        "SQLite file or a fresh PostgreSQL schema (`options=-csearch_path%3D...`) and a fresh "
        "keys dir. One active key per algorithm (ES256, RS256, EdDSA); the JWKS also "
        "publishes each one's next key. Clients and the user are made with the CLI. One "
        "server per case.",
        f"* *1 w, core 0*: `taskset -c 0 authority serve --workers 1`, `taskset -c 1 wrk -t1 "
        f"-c{conns} -d{secs}s --latency --timeout {WRK_TIMEOUT}`. *2 w, shared*: "
        "`--workers 2`, nothing pinned, `wrk -t2`: wrk takes part of the two cores."
        + placement_text(result),
        f"* Each case: one sanity request (*what came back*), a {opts['warmup']} s warm-up, a "
        "wait until the server is idle, the measured run, then the RSS (`VmRSS`) of each "
        "worker, then the server is stopped by its process group.",
        "* `bench/wrk/request.lua` sends one static request (form body + `Authorization: "
        "Basic`); `bench/wrk/refresh_pool.lua` sends a different refresh token each time, from "
        "a pool made through `SqlStorage.start_family` (sized for the run, plus a separate "
        "warm-up pool). The introspect case posts `token=` an ES256 access token that the same "
        "server issued to the client_credentials client right before (its sanity step), with "
        'that client\'s Basic auth; the sanity step also checks `"active":true`.',
        "* *CPU ms/req*: utime + stime of the server's process group over the measured window "
        "(from /proc), divided by the requests wrk completed.",
        f"* client_credentials sends `{CC_BODY}` to authority, oidc-provider (A1) and the "
        "Starlette ceiling (L5) alike; the peers run from the peer harness, pinned the same way.",
    ]
    lines += argon2_lines(rows)
    return "\n".join(wrap(line) for line in lines)


def write_report(path: Path, result: dict[str, Any], rows: list[Row]) -> None:
    m, opts = result["machine"], result["options"]
    kept = ""
    if path.exists():
        old = path.read_text()
        if REPORT_MARKER in old:
            kept = old.split(REPORT_MARKER, 1)[1].strip("\n")
    check_rows = [["check", "target", "measured", "verdict"]] + [
        [c["check"].strip(), c["target"], c["measured"], c["verdict"]] for c in result["checks"]
    ]
    parts = [
        "# Performance",
        wrap(
            f"Figures from `bench/run.py`, run {result['started']} (run id `{result['run_id']}`):"
        ),
        f"```sh\n{result['command']}\n```",
        wrap(
            "**The machine is shared and noisy.** Absolute req/s move 15-50 % between runs on "
            "this kind of VM; compare ratios within one run, and server CPU per request, which "
            "is less sensitive to noise. *core 0 other* is the share of the server's core that "
            "went to something else (other processes, softirq) during the measured window: a "
            "large value means the figure is low because of the neighbours, not the server."
        ),
        "## Machine",
        markdown_table(machine_table(m, opts["peers_dir"])),
        "## Method",
        method(result, rows),
        "## Results",
        markdown_table(results_table(rows), {3, 4, 5, 6, 7, 8}),
        "## Against the targets",
        markdown_table(check_rows),
        REPORT_MARKER,
    ]
    if kept:
        parts.append(kept)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(parts) + "\n")


def print_summary(result: dict[str, Any], rows: list[Row]) -> None:
    print()
    print(text_table(results_table(rows)))
    print()
    checks_table = [["check", "target", "measured", "verdict"]]
    checks_table += [
        [c["check"], c["target"], c["measured"], c["verdict"]] for c in result["checks"]
    ]
    print(text_table(checks_table))
