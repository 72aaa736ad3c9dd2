"""Number-theory helpers: gcd, extended gcd, modular power and inverse, CRT.

Python has math.gcd and pow(b, e, m) built in; these implementations show
the underlying algorithms and add the pieces the stdlib lacks (extended
Euclid and the Chinese remainder theorem).
"""
from functools import reduce
from typing import Iterable, Tuple


def gcd(a: int, b: int) -> int:
    """Euclid's algorithm: gcd(a, b) == gcd(b, a mod b)."""
    a, b = abs(a), abs(b)
    while b:
        a, b = b, a % b
    return a


def extended_gcd(a: int, b: int) -> Tuple[int, int, int]:
    """Return (g, x, y) such that a*x + b*y == g == gcd(a, b)."""
    old_r, r = a, b
    old_x, x = 1, 0
    old_y, y = 0, 1
    while r:
        q = old_r // r
        old_r, r = r, old_r - q * r
        old_x, x = x, old_x - q * x
        old_y, y = y, old_y - q * y
    return old_r, old_x, old_y


def mod_pow(base: int, exponent: int, modulus: int) -> int:
    """Right-to-left binary exponentiation: O(log exponent) multiplications."""
    if modulus == 1:
        return 0
    result = 1
    base %= modulus
    while exponent > 0:
        if exponent & 1:
            result = result * base % modulus
        base = base * base % modulus
        exponent >>= 1
    return result


def mod_inverse(a: int, m: int) -> int:
    g, x, _ = extended_gcd(a % m, m)
    if g != 1:
        raise ValueError(f"{a} has no inverse modulo {m} (gcd is {g})")
    return x % m


def crt(congruences: Iterable[Tuple[int, int]]) -> Tuple[int, int]:
    """Solve x = r_i (mod m_i) for pairwise coprime moduli; return (x, M)."""
    def combine(acc, item):
        r1, m1 = acc
        r2, m2 = item
        # x = r1 + m1*t; need m1*t = r2 - r1 (mod m2)
        t = (r2 - r1) * mod_inverse(m1, m2) % m2
        return r1 + m1 * t, m1 * m2
    return reduce(combine, congruences, (0, 1))


if __name__ == "__main__":
    print(gcd(1071, 462), extended_gcd(240, 46))
    assert mod_pow(7, 10**18, 10**9 + 7) == pow(7, 10**18, 10**9 + 7)
    print(mod_inverse(3, 11))               # 4, since 3*4 = 12 = 1 (mod 11)
    print(crt([(2, 3), (3, 5), (2, 7)]))    # (23, 105)
