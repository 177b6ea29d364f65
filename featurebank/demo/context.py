"""What every table generator receives: who exists, when, and a seeded random stream per chunk."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from featurebank.demo.population import Population
from featurebank.demo.timeline import Timeline


def seeded_rng(seed: int, stream: str, chunk: int = 0) -> np.random.Generator:
    """An independent generator per (seed, named stream, chunk).

    Keying by name and chunk instead of drawing from one shared generator keeps a file's bytes
    independent of which other files were generated, and in what order.
    """
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(stream.encode()), chunk]))


@dataclass(frozen=True)
class DemoContext:
    population: Population
    timeline: Timeline
    seed: int

    def rng(self, dataset: str, chunk: int = 0) -> np.random.Generator:
        return seeded_rng(self.seed, dataset, chunk)
