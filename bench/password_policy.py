"""What one password strength check costs: worst case and median, crafted and ordinary.

    python -m bench.password_policy [--per-class 20] [--seed 13] [--stock]

Each row is one length (72, 256 and 1,024 characters: the last is the byte limit) and one
kind of password. Crafted ones aim at zxcvbn's costs: many distinct l33t symbols (the most
l33t readings), l33t-spelt words (the most dictionary matches), a repeated l33t block (a
repeat is matched again inside), digits and dates, keyboard runs, and the costliest string
a search found. Ordinary ones are random passphrases and random letters and digits. The
passwords are drawn from a seeded generator, so a run is reproducible; each is judged by
``PasswordPolicy.problem``, timed alone, on one thread (wall time, and the thread's CPU
time, which a busy machine inflates less). ``--stock`` adds the unbounded zxcvbn at 72
characters, for comparison.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import time
from collections.abc import Callable

from authority.credentials.password_policy import ESTIMATED_CHARS, MAX_L33T_READINGS, PasswordPolicy
from bench import report

LENGTHS = (72, 256, 1024)
L33T = "4@8({[<3691!|70$5+%2"
WORDS = [
    *("password", "monkey", "dragon", "letmein", "sunshine", "princess", "football"),
    *("baseball", "welcome", "shadow", "master", "superman", "michael", "jessica"),
    *("charlie", "trustno1", "hello", "freedom", "whatever", "qazwsx", "maple", "syrup"),
    *("moon", "river", "stone", "cloud", "orange", "violet", "harbor", "lantern"),
]
SUBS = {"a": "@4", "e": "3", "i": "1!|", "l": "1|7", "o": "0", "s": "$5", "t": "+7", "g": "69"}
INPUTS = ("alice", "alice.liddell@example.com")
# The costliest 32 characters a minute of random mutation (a hill climb on CPU time) found.
SEARCHED = "ax({z%z<ds3t[8th178th7h17sth78[h"


def l33t_symbols(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(L33T + "efghx") for _ in range(n))


def l33t_words(rng: random.Random, n: int) -> str:
    out = ""
    while len(out) < n:
        out += "".join(rng.choice(SUBS.get(c, c)) for c in rng.choice(WORDS))
    return out[:n]


def repeated_block(rng: random.Random, n: int) -> str:
    block = l33t_symbols(rng, 32)
    return (block * (n // 32 + 1))[:n]


def digits_and_dates(rng: random.Random, n: int) -> str:
    out = ""
    while len(out) < n:
        out += rng.choice([f"{rng.randint(1900, 2049)}{rng.randint(1, 12):02d}", "1234", "0000"])
    return out[:n]


def keyboard_runs(rng: random.Random, n: int) -> str:
    rows = ["qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890", "!@#$%^&*()"]
    out = ""
    while len(out) < n:
        row = rng.choice(rows)
        start = rng.randrange(len(row) - 3)
        out += row[start : start + rng.randint(3, 7)]
    return out[:n]


def searched(rng: random.Random, n: int) -> str:
    return (SEARCHED * (n // len(SEARCHED) + 1))[:n]


def passphrase(rng: random.Random, n: int) -> str:
    out = ""
    while len(out) < n:
        out += rng.choice(WORDS) + " "
    return out[:n]


def alphanumeric(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


CLASSES: dict[str, dict[str, Callable[[random.Random, int], str]]] = {
    "crafted": {
        "l33t symbols": l33t_symbols,
        "l33t words": l33t_words,
        "repeated l33t block": repeated_block,
        "digits and dates": digits_and_dates,
        "keyboard runs": keyboard_runs,
        "found by search": searched,
    },
    "ordinary": {"passphrase": passphrase, "letters and digits": alphanumeric},
}


def timed(check: Callable[[str], object], password: str) -> tuple[float, float]:
    """Milliseconds of wall time and of this thread's CPU time."""
    wall, cpu = time.perf_counter(), time.thread_time()
    check(password)
    return (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--per-class", type=int, default=20, help="passwords per kind and length")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--stock", action="store_true", help="also time unbounded zxcvbn at 72")
    args = parser.parse_args()
    if args.stock:  # before the policy bounds zxcvbn in this process
        from zxcvbn import zxcvbn  # type: ignore[import-untyped]

        rng = random.Random(f"{args.seed}-stock")
        passwords = [l33t_symbols(rng, 72) for _ in range(min(args.per_class, 5))]
        costs = [timed(lambda p: zxcvbn(p, user_inputs=list(INPUTS)), p)[0] for p in passwords]
        print(
            f"stock zxcvbn, 72 l33t symbols: worst {max(costs):.0f} ms, "
            f"median {statistics.median(costs):.0f} ms"
        )
    policy = PasswordPolicy(min_length=10)
    policy.problem("warm up the dictionaries", INPUTS)

    def check(password: str) -> object:
        return policy.problem(password, INPUTS)

    print(
        f"estimate sees {ESTIMATED_CHARS} characters, at most {MAX_L33T_READINGS} l33t "
        f"readings; {args.per_class} passwords per kind, seed {args.seed}"
    )
    print(
        f"{'length':>6}  {'kind':<8}  {'worst ms':>8}  {'median ms':>9}  "
        f"{'worst cpu':>9}  {'median cpu':>10}  worst class"
    )
    worst_of_all = 0.0
    for length in LENGTHS:
        for kind, classes in CLASSES.items():
            rng = random.Random(f"{args.seed}-{length}-{kind}")
            samples: list[tuple[float, float, str]] = []
            for name, make in classes.items():
                for _ in range(args.per_class):
                    samples.append((*timed(check, make(rng, length)), name))
            worst, _, worst_class = max(samples)
            worst_of_all = max(worst_of_all, worst)
            median = statistics.median(ms for ms, _, _ in samples)
            worst_cpu = max(cpu for _, cpu, _ in samples)
            median_cpu = statistics.median(cpu for _, cpu, _ in samples)
            print(
                f"{length:>6}  {kind:<8}  {worst:8.1f}  {median:9.1f}  "
                f"{worst_cpu:9.1f}  {median_cpu:10.1f}  {worst_class}"
            )
    print(report.check("password_policy", "worst_ms", worst_of_all))


if __name__ == "__main__":
    main()
