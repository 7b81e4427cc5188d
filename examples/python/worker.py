"""An offload worker program: the seed's blocking call and a CPU-bound
function, served from a process pool.

    offload-executor --queue py=processes:4 \
        --command "py=PYTHONPATH=client/python python3 examples/python/worker.py"
    curl -d 3000 http://localhost:8080/v1/jobs/py/sleep      # the seed's time.sleep(3)
    curl -d 200000 http://localhost:8080/v1/jobs/py/primes   # primes below 200000
"""

import time

from offload_worker import function, serve


@function
def sleep(payload: bytes) -> bytes:
    """The seed's blocking call: time.sleep for the payload's milliseconds
    (decimal text), e.g. 3000 for the seed's 3 s."""
    ms = int(payload or b"3000")
    if not 0 <= ms <= 86_400_000:
        raise ValueError("sleep: %d ms is out of 0..86400000" % ms)
    time.sleep(ms / 1000)
    return b"slept %d ms" % ms


@function
def primes(payload: bytes) -> bytes:
    """CPU-bound: counts the primes below N (decimal text) with a plain
    sieve; 200000 takes tens of milliseconds."""
    n = int(payload or b"100000")
    if not 2 <= n <= 50_000_000:
        raise ValueError("primes: N must be 2..50000000, got %d" % n)
    sieve = bytearray([1]) * n
    sieve[0:2] = b"\0\0"
    for i in range(2, int(n ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytes(len(range(i * i, n, i)))
    return str(sum(sieve)).encode()


if __name__ == "__main__":
    serve()
