"""Seeds and per-conversation random keys: the only source of randomness in the sampling engine.

Decisions:
- `seed_for` hashes its parts with BLAKE2b, never Python's `hash()`, which is salted per process: a rule
  run today and re-run next month (another process, another machine) must get the same seed.
- A conversation's key is a pure function of (id, seed), SplitMix64 (Steele, Lea & Flood 2014) run on
  the id: `z = finalise(id * GAMMA + finalise(seed))`. Every step is a bijection of uint64, so for one
  seed two ids never share a 64-bit hash (`hash64`), which the strategies use as the final tie-break.
  Because a key depends on nothing else, the order of the input and the presence of other
  conversations change nothing: same rule + data + seed, same sample.
- `random_keys` keeps the top 53 bits (a float64's mantissa), so keys are uniform on [0, 1) with
  spacing 2**-53. Any int is accepted as a seed; only `seed mod 2**64` matters.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15  # SplitMix64's increment: 2**64 / golden ratio, odd
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_SEED_SALT = 0x5851F42D4C957F2D  # keeps seed 0 from mapping to a state of 0


def seed_for(*parts: str | int) -> int:
    """A stable 63-bit seed from `parts` (e.g. a rule's seed, its id and a period key)."""
    digest = hashlib.blake2b(digest_size=8, person=b"caliper-seed")
    for part in parts:
        # Tag and length-prefix each part so ("ab", "c"), ("a", "bc") and (1,) vs ("1",) all differ.
        if isinstance(part, bool) or not isinstance(part, int | str):
            raise TypeError(f"seed parts must be str or int, not {type(part).__name__}")
        tag, data = (b"i", str(part).encode()) if isinstance(part, int) else (b"s", part.encode("utf-8"))
        digest.update(tag + len(data).to_bytes(8, "big") + data)
    return int.from_bytes(digest.digest(), "big") >> 1


def _finalise_int(z: int) -> int:
    """SplitMix64's output function on a Python int (mod 2**64)."""
    z &= MASK64
    z = ((z ^ (z >> 30)) * _MIX1) & MASK64
    z = ((z ^ (z >> 27)) * _MIX2) & MASK64
    return z ^ (z >> 31)


def hash64(ids: npt.ArrayLike, seed: int) -> npt.NDArray[np.uint64]:
    """SplitMix64 of each id under `seed`: a bijection of the ids for a fixed seed (no two ids collide)."""
    z = np.array(ids, dtype=np.int64, copy=True).view(np.uint64)  # negative ids wrap, still distinct
    state = np.uint64(_finalise_int(seed ^ _SEED_SALT))
    # uint64 arithmetic is meant to wrap mod 2**64; numpy only warns for scalars, silence it anyway.
    with np.errstate(over="ignore"):
        z *= np.uint64(GAMMA)
        z += state
        z ^= z >> np.uint64(30)
        z *= np.uint64(_MIX1)
        z ^= z >> np.uint64(27)
        z *= np.uint64(_MIX2)
        z ^= z >> np.uint64(31)
    return z


def random_keys(ids: npt.ArrayLike, seed: int) -> npt.NDArray[np.float64]:
    """One uniform number in [0, 1) per id, a pure function of (id, seed)."""
    return (hash64(ids, seed) >> np.uint64(11)).astype(np.float64) * 2.0**-53
