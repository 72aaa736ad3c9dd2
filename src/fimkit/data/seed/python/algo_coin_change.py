"""Coin change: fewest coins for an amount, and number of ways to make it.

Greedy works for "canonical" coin systems like (1, 5, 10, 25) but fails for
e.g. (1, 3, 4) with amount 6 (greedy gives 4+1+1, optimum is 3+3), so we
use bottom-up dynamic programming instead.
"""
from math import inf


def min_coins(coins, amount):
    """Return the list of coins (fewest possible) summing to ``amount``.

    Returns ``None`` when the amount cannot be formed.
    """
    fewest = [0] + [inf] * amount
    last_coin = [0] * (amount + 1)
    for total in range(1, amount + 1):
        for c in coins:
            if c <= total and fewest[total - c] + 1 < fewest[total]:
                fewest[total] = fewest[total - c] + 1
                last_coin[total] = c
    if fewest[amount] == inf:
        return None
    result = []
    while amount:
        result.append(last_coin[amount])
        amount -= last_coin[amount]
    return sorted(result, reverse=True)


def count_ways(coins, amount):
    """Number of multisets of coins summing to ``amount``.

    The coin loop is *outside* the amount loop: that way each combination is
    counted once regardless of order (3+1 and 1+3 are the same way).
    """
    ways = [1] + [0] * amount
    for c in coins:
        for total in range(c, amount + 1):
            ways[total] += ways[total - c]
    return ways[amount]


if __name__ == "__main__":
    print(min_coins((1, 3, 4), 6))           # [3, 3]
    print(min_coins((2,), 7))                # None
    print(min_coins((1, 5, 10, 25), 63))     # [25, 25, 10, 1, 1, 1]
    print(count_ways((1, 2, 5), 5))          # 4
    print(count_ways((2, 5, 3, 6), 10))      # 5
