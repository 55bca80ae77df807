"""Near-duplicate passages by SimHash, over arrays: no Python object per passage.

Two 64-bit hashes within ``NEAR_BITS`` (3) bits of each other agree exactly on at
least 3 of the hash's 6 blocks (pigeonhole).  Sorting the hashes once per choice of 3
blocks (20 sorts, each keyed on about 32 bits) puts every such pair in a run of equal
keys, and runs stay short at any corpus size, where the 4 bands of 16 bits the
in-memory pass uses fill each bucket with thousands of hashes at tens of millions.

The decision is the in-memory pass's, exactly: in order of authority (then corpus
order) a passage is dropped when it is a near copy of one kept before it.
"""

from __future__ import annotations

from itertools import combinations, pairwise

import numpy as np

NEAR_BITS = 3
_EDGES = (0, 11, 22, 33, 44, 54, 64)


def _block_masks() -> list[np.uint64]:
    blocks = [((1 << (hi - lo)) - 1) << lo for lo, hi in pairwise(_EDGES)]
    return [np.uint64(sum(blocks[i] for i in combo)) for combo in combinations(range(6), 3)]


_MASKS = _block_masks()


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        counted: np.ndarray = np.bitwise_count(x)
        return counted
    bits: np.ndarray = np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
    return bits


def _close_pairs(hashes: np.ndarray) -> np.ndarray:
    """(i, j), i < j, of distinct hashes within ``NEAR_BITS`` bits, each pair once."""
    found = []
    for mask in _MASKS:
        keyed = hashes & mask
        order = np.argsort(keyed, kind="stable")
        k = keyed[order]
        change = np.flatnonzero(k[1:] != k[:-1]) + 1
        starts = np.concatenate(([0], change))
        ends = np.concatenate((change, [len(k)]))
        lengths = ends - starts
        in_run = np.repeat(lengths, lengths) > 1
        pos = np.flatnonzero(in_run)
        run_end = np.repeat(ends, lengths)[in_run]
        d = 1
        while len(pos):  # compare each hash with the d-th after it in its run
            more = pos + d < run_end
            pos, run_end = pos[more], run_end[more]
            if not len(pos):
                break
            a, b = order[pos], order[pos + d]
            close = _popcount(hashes[a] ^ hashes[b]) <= NEAR_BITS
            found.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)[close])
            d += 1
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(found), axis=0)


def near_duplicates(hashes: np.ndarray, authority: np.ndarray) -> np.ndarray:
    """Positions (into ``hashes``, in corpus order) of the passages to drop."""
    n = len(hashes)
    if n < 2:
        return np.empty(0, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-authority, kind="stable")] = np.arange(n)
    # Equal hashes: all but the first in rank go, whatever becomes of the first (any
    # hash near it is near them too), so only one of each is compared.
    by_hash = np.lexsort((rank, hashes))
    first = np.ones(n, dtype=bool)
    first[1:] = hashes[by_hash[1:]] != hashes[by_hash[:-1]]
    dropped = [by_hash[~first]]
    reps = by_hash[first]
    pairs = reps[_close_pairs(hashes[reps])]
    if len(pairs):
        swap = rank[pairs[:, 0]] > rank[pairs[:, 1]]
        pairs[swap] = pairs[swap][:, ::-1]  # (earlier in rank, later)
        pairs = pairs[np.argsort(rank[pairs[:, 1]], kind="stable")]
        gone: set[int] = set()
        for u, v in pairs.tolist():  # in rank order of the later one: u is settled
            if v not in gone and u not in gone:
                gone.add(v)
        dropped.append(np.fromiter(gone, dtype=np.int64, count=len(gone)))
    return np.sort(np.concatenate(dropped))
