"""Prime generation: a bytearray sieve and an unbounded incremental sieve."""
from itertools import count, islice
from math import isqrt


def primes_up_to(limit):
    """All primes <= ``limit`` via the sieve of Eratosthenes.

    A bytearray uses one byte per number (a list of bools would cost an
    8-byte pointer each), and slice assignment crosses out multiples in C.
    Starting at p*p is safe: smaller multiples of p have a smaller factor
    and were already crossed out.

    >>> primes_up_to(30)
    [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    """
    if limit < 2:
        return []
    is_prime = bytearray([1]) * (limit + 1)
    is_prime[0] = is_prime[1] = 0
    for p in range(2, isqrt(limit) + 1):
        if is_prime[p]:
            is_prime[p * p::p] = bytes(len(range(p * p, limit + 1, p)))
    return [n for n, flag in enumerate(is_prime) if flag]


def iter_primes():
    """Yield primes forever without choosing an upper bound in advance.

    ``composites`` maps each upcoming composite to the primes that will
    "hit" it; when we pass a composite we move each of its witnesses on to
    their next multiple. Memory grows with the number of primes found so
    far, not with the largest number examined.
    """
    composites = {}
    for n in count(2):
        witnesses = composites.pop(n, None)
        if witnesses is None:
            yield n
            composites[n * n] = [n]
        else:
            for p in witnesses:
                composites.setdefault(n + p, []).append(p)


def smallest_factors(limit):
    """Smallest prime factor for each n <= limit; enables fast factoring."""
    spf = list(range(limit + 1))
    for p in range(2, isqrt(limit) + 1):
        if spf[p] == p:
            for multiple in range(p * p, limit + 1, p):
                if spf[multiple] == multiple:
                    spf[multiple] = p
    return spf


if __name__ == "__main__":
    import doctest

    doctest.testmod()
    print(list(islice(iter_primes(), 15)))
    assert list(islice(iter_primes(), 1229)) == primes_up_to(10_000)
    spf = smallest_factors(1000)
    n, factors = 360, []
    while n > 1:
        factors.append(spf[n])
        n //= spf[n]
    print("360 =", " * ".join(map(str, factors)))
