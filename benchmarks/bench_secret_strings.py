"""What looking for secrets in pickle strings costs the pickle reader. Prints figures.

    .venv/bin/python benchmarks/bench_secret_strings.py [--rounds 5] [--strings 200000]

The worst case for the pickle machine's secret hook (modelscan/pickle_ops
`Machine._keep_for_secrets`): a pickled dict of N random 20-character keys, every one long
enough to be looked at. In each round the same bytes are read with the hook and with it
replaced by a no-op (interleaved, so drift on a shared machine hits both alike); the ratio
of the medians is the hook's cost. A model pickle (tensors and short keys) pays far less.
This is a script that prints figures, not a test.
"""

from __future__ import annotations

import argparse
import pickle
import random
import statistics
import string
import time

from mlsecops.modelscan import pickle_ops
from mlsecops.modelscan.pickle_stream import read_bytes


def _timed(data: bytes) -> float:
    start = time.perf_counter()
    read_bytes(data)
    return time.perf_counter() - start


def main() -> None:
    """Time the reader with and without the hook; print the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--strings", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(1)
    letters = string.ascii_letters
    table = {"".join(rng.choice(letters) for _ in range(20)): i for i in range(args.strings)}
    data = pickle.dumps(table, protocol=4)
    hook = pickle_ops.Machine._keep_for_secrets
    with_hook, without = [], []
    for _ in range(args.rounds):
        pickle_ops.Machine._keep_for_secrets = hook  # type: ignore[method-assign]
        with_hook.append(_timed(data))
        pickle_ops.Machine._keep_for_secrets = lambda _self, _value: None  # type: ignore[method-assign]
        without.append(_timed(data))
    pickle_ops.Machine._keep_for_secrets = hook  # type: ignore[method-assign]
    a, b = statistics.median(with_hook), statistics.median(without)
    print(f"{args.strings} strings of 20 characters, {len(data)} bytes, {args.rounds} rounds")
    print(f"with the secret hook    {a:.3f} s (median)")
    print(f"without (baseline)      {b:.3f} s (median)")
    print(f"ratio                   {a / b:.2f}")


if __name__ == "__main__":
    main()
