"""Near-duplicate stories: the same text republished under another URL and headline.

Each article's text (tags stripped, then everything but letters and digits dropped, so
punctuation, spacing and image markup cannot tell two copies apart) is cut into character
3-grams; whitespace tokens would not do, since a Chinese clause is one token. A MinHash of 128
values summarises the set, and locality-sensitive hashing groups them in 42 bands of 3: two texts
that share one band are candidates, found through an index of band values, so a lookup asks the
state for a few rows however many articles it holds.

The MinHash is datasketch's ``affine32`` scheme, value for value (a test compares the two), so
the signatures stored by earlier versions, which signed with datasketch, stay comparable. It is
computed here, in a few lines of numpy, because datasketch's package imports SciPy for LSH
classes this module has no use for: 0.35–0.7 s of start-up and 61 MB for every run that signs an
article, and one Python call per 3-gram in ``update_batch``. BENCHMARKS.md has the figures.

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

# numpy is imported where it is first used: a run that signs nothing (a rerun) does not pay for it.


PERMUTATIONS = 128
BANDS, ROWS = 42, 3
"""LSH banding: the pair of a ~0.3 Jaccard similarity (a story inside a copy three times its
size) is a candidate more often than not; unrelated texts almost never are."""
SHINGLE = 3
MIN_SHINGLES = 20
"""Texts shorter than this (a one-line flash) are not compared: too little to tell copies apart."""
SEED = 20240601
"""Seeds the draw of the permutations: changing it (or the scheme) makes every stored signature
incomparable with new ones."""


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
        return np.empty(0, dtype=np.uint32)
    z = ((codes[:-2] << np.uint64(42)) | (codes[1:-1] << np.uint64(21)) | codes[2:]) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's finaliser: every
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)  # bit of the 3-gram moves every
    hashes = np.sort(((z ^ (z >> np.uint64(31))) >> np.uint64(32)).astype(np.uint32))  # bit of the hash
    # the distinct ones of a sorted array, as np.unique gives them in a tenth of its time here
    return hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))]


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
    """Signs texts with one set of permutations, drawn once.

    The scheme (datasketch's ``affine32``): each 3-gram hash is mixed by MurmurHash3's 32-bit
    finaliser, then each of the 128 permutations maps it to ``a * h + b`` modulo 2**32 (``a``
    odd, so no two hashes collide), and the signature keeps each permutation's least value."""

    CHUNK = 4096
    """3-grams mapped at once: bounds the table of permutations × 3-grams to 2 MB for long texts."""

    def __init__(self) -> None:
        self._permutations: tuple[np.ndarray, np.ndarray] | None = None

    def _drawn(self) -> tuple[np.ndarray, np.ndarray]:
        if self._permutations is None:
            import numpy as np

            draw = np.random.RandomState(SEED)
            a = draw.randint(0, 1 << 31, PERMUTATIONS, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
            b = draw.randint(0, 1 << 32, PERMUTATIONS, dtype=np.uint32)
            self._permutations = a, b
        return self._permutations

    def sign(self, body: str) -> Signature | None:
        """The body's signature, or None when it is too short to compare."""
        import numpy as np

        shingles = shingle_hashes(text_of(body))
        if len(shingles) < MIN_SHINGLES:
            return None
        a, b = self._drawn()
        h = shingles.copy()
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
        values = np.full(PERMUTATIONS, 0xFFFFFFFF, dtype=np.uint32)
        for start in range(0, len(h), self.CHUNK):
            # one row per permutation, so each minimum runs along contiguous memory (4x faster
            # than a column per permutation), and the sum made in place
            mapped = np.multiply.outer(a, h[start : start + self.CHUNK])
            mapped += b[:, None]
            np.minimum(values, mapped.min(axis=1), out=values)
        return Signature(values, len(shingles))


class NearDuplicate(DropItem):
    """The article is a copy of ``original`` (a post's path): it is not written."""

    def __init__(self, original: str) -> None:
        super().__init__(f"near-duplicate of {original}: not written", log_level="INFO")
        self.original = original
