"""One seeded generator (NumPy PCG64) that every random op in ember draws from."""

from __future__ import annotations

import numpy as np

__all__ = ["manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "Generator"]


class Generator:
    """A seedable random source, like ``torch.Generator``; wraps NumPy's PCG64."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = int(np.random.SeedSequence().entropy % (2**63)) if seed is None else int(seed)
        self.np = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self.np = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        """The generator's state as plain JSON-able data (ints and strings)."""
        state = self.np.bit_generator.state
        return {
            "bit_generator": state["bit_generator"],
            "state": int(state["state"]["state"]),
            "inc": int(state["state"]["inc"]),
            "has_uint32": int(state["has_uint32"]),
            "uinteger": int(state["uinteger"]),
            "seed": self._seed,
        }

    def set_state(self, state: dict) -> None:
        if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
            raise ValueError(f"set_rng_state: expected a PCG64 state from get_rng_state(), got {state!r:.200}")
        bitgen = np.random.PCG64()
        bitgen.state = {
            "bit_generator": "PCG64",
            "state": {"state": int(state["state"]), "inc": int(state["inc"])},
            "has_uint32": int(state["has_uint32"]),
            "uinteger": int(state["uinteger"]),
        }
        self.np = np.random.Generator(bitgen)
        self._seed = int(state.get("seed", self._seed))


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed ember's generator; every random op draws from it."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    s = int(np.random.SeedSequence().entropy % (2**63))
    default_generator.manual_seed(s)
    return s


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def numpy_generator(generator: Generator | None = None) -> np.random.Generator:
    return (generator or default_generator).np
