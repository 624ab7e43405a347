"""Near-duplicate stories: the same text republished under another URL and headline.

Each article's text (tags stripped, then everything but letters and digits dropped, so
punctuation, spacing and image markup cannot tell two copies apart) is cut into character
3-grams; whitespace tokens would not do, since a Chinese clause is one token. datasketch's
MinHash summarises the set in 128 hash values, and locality-sensitive hashing groups them in 42
bands of 3: two texts that share one band are candidates, found through an index of band
values, so a lookup asks the state for a few rows however many articles it holds.

A candidate is a duplicate when the estimated *containment* of the smaller text in the larger
one reaches the threshold: a story with a paragraph dropped, or wrapped in a site's boilerplate,
is still almost wholly inside the other, while two stories sharing only a site's boilerplate are
not. BENCHMARKS.md has the measurements (SimHash against this) behind the defaults.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy.exceptions import DropItem

if TYPE_CHECKING:
    import numpy as np

# numpy and datasketch are imported where they are first used: datasketch's package imports
# SciPy (for its LSH classes, not used here), about 0.7 s that a run which signs nothing (a
# rerun) should not pay.


PERMUTATIONS = 128
BANDS, ROWS = 42, 3
"""LSH banding: the pair of a ~0.3 Jaccard similarity (a story inside a copy three times its
size) is a candidate more often than not; unrelated texts almost never are."""
SHINGLE = 3
MIN_SHINGLES = 20
"""Texts shorter than this (a one-line flash) are not compared: too little to tell copies apart."""
SEED = 20240601
SCHEME = "affine32"
"""datasketch's permutation scheme, named so that stored signatures stay comparable with new
ones (sketches of different schemes cannot be compared)."""


_TAG = re.compile(r"<[^>]*>")
_LETTERS_AND_DIGITS = re.compile(r"[^\W_]+")


def text_of(body: str) -> str:
    """What two copies of a story share: the body's letters and digits, lower-cased (tags
    dropped, entities read)."""
    return "".join(_LETTERS_AND_DIGITS.findall(html.unescape(_TAG.sub(" ", body)).lower()))


def shingle_hashes(text: str) -> np.ndarray:
    """The distinct character 3-grams of ``text``, each as a 32-bit hash: three code points
    (21 bits each) packed into one integer, then mixed (splitmix64), in numpy for the whole
    text at once rather than one hash call per 3-gram."""
    import numpy as np

    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(codes) < SHINGLE:
        return np.empty(0, dtype=np.uint64)
    z = ((codes[:-2] << np.uint64(42)) | (codes[1:-1] << np.uint64(21)) | codes[2:]) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's finaliser: every
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)  # bit of the 3-gram moves every
    return np.unique((z ^ (z >> np.uint64(31))) >> np.uint64(32))     # bit of the hash


def _as_is(value: int) -> int:
    """datasketch's hash function for values that are hashes already."""
    return value


@dataclass(frozen=True)
class Signature:
    values: "np.ndarray"
    """The MinHash values (``PERMUTATIONS`` unsigned 32-bit integers)."""
    size: int
    """How many distinct shingles the text has."""

    def to_bytes(self) -> bytes:
        return self.values.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, size: int) -> "Signature":
        import numpy as np

        return cls(np.frombuffer(data, dtype="<u4"), size)

    def bands(self) -> list[int]:
        """One signed 64-bit value per band (the band's number and its values hashed), as SQL
        stores integers."""
        data, width = self.to_bytes(), ROWS * 4
        out = []
        for band in range(BANDS):
            chunk = data[band * width : (band + 1) * width]
            digest = hashlib.blake2b(band.to_bytes(1, "little") + chunk, digest_size=8).digest()
            out.append(int.from_bytes(digest, "little", signed=True))
        return out

    def containment(self, other: "Signature") -> float:
        """The estimated share of the smaller text's shingles that the other one has too."""
        jaccard = float((self.values == other.values).mean())
        shared = jaccard / (1 + jaccard) * (self.size + other.size)
        return min(1.0, shared / min(self.size, other.size))


class Signer:
    """Signs texts with one set of permutations, made once (datasketch draws them per MinHash
    otherwise, which costs more than hashing a story)."""

    def __init__(self) -> None:
        self._permutations = None

    def sign(self, body: str) -> Signature | None:
        """The body's signature, or None when it is too short to compare."""
        from datasketch import MinHash

        shingles = shingle_hashes(text_of(body))
        if len(shingles) < MIN_SHINGLES:
            return None
        if self._permutations is None:
            self._permutations = MinHash(num_perm=PERMUTATIONS, seed=SEED, scheme=SCHEME).permutations
        minhash = MinHash(num_perm=PERMUTATIONS, seed=SEED, permutations=self._permutations, scheme=SCHEME,
                          hashfunc=_as_is)
        minhash.update_batch(shingles.tolist())
        return Signature(minhash.hashvalues.astype("uint32"), len(shingles))


class NearDuplicate(DropItem):
    """The article is a copy of ``original`` (a post's path): it is not written."""

    def __init__(self, original: str) -> None:
        super().__init__(f"near-duplicate of {original}: not written", log_level="INFO")
        self.original = original
