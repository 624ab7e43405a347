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
import unicodedata
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash
from scrapy.exceptions import DropItem

from crawler.feeds import visible_text

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


def text_of(body: str) -> str:
    """What two copies of a story share: the body's letters and digits, lower-cased."""
    return "".join(c for c in visible_text(body).lower() if unicodedata.category(c)[0] in "LN")


@dataclass(frozen=True)
class Signature:
    values: np.ndarray
    """The MinHash values (``PERMUTATIONS`` unsigned 32-bit integers)."""
    size: int
    """How many distinct shingles the text has."""

    def to_bytes(self) -> bytes:
        return self.values.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, size: int) -> "Signature":
        return cls(np.frombuffer(data, dtype="<u4"), size)

    def bands(self) -> list[int]:
        """One signed 64-bit value per band (the band's number and its values hashed), as SQL
        stores integers."""
        out = []
        for band in range(BANDS):
            chunk = self.values[band * ROWS : (band + 1) * ROWS].astype("<u4").tobytes()
            digest = hashlib.blake2b(band.to_bytes(1, "little") + chunk, digest_size=8).digest()
            out.append(int.from_bytes(digest, "little", signed=True))
        return out

    def containment(self, other: "Signature") -> float:
        """The estimated share of the smaller text's shingles that the other one has too."""
        jaccard = float(np.mean(self.values == other.values))
        shared = jaccard / (1 + jaccard) * (self.size + other.size)
        return min(1.0, shared / min(self.size, other.size))


class Signer:
    """Signs texts with one set of permutations, made once (datasketch draws them per MinHash
    otherwise, which costs more than hashing a story)."""

    def __init__(self) -> None:
        self._permutations = MinHash(num_perm=PERMUTATIONS, seed=SEED, scheme=SCHEME).permutations

    def sign(self, body: str) -> Signature | None:
        """The body's signature, or None when it is too short to compare."""
        text = text_of(body)
        shingles = {text[i : i + SHINGLE].encode("utf-8") for i in range(len(text) - SHINGLE + 1)}
        if len(shingles) < MIN_SHINGLES:
            return None
        minhash = MinHash(num_perm=PERMUTATIONS, seed=SEED, permutations=self._permutations, scheme=SCHEME)
        minhash.update_batch(list(shingles))
        return Signature(minhash.hashvalues.astype(np.uint32), len(shingles))


class NearDuplicate(DropItem):
    """The article is a copy of ``original`` (a post's path): it is not written."""

    def __init__(self, original: str) -> None:
        super().__init__(f"near-duplicate of {original}: not written", log_level="INFO")
        self.original = original
