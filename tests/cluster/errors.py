"""The test cluster's one error: which piece failed and the check that failed."""

from __future__ import annotations


class ClusterError(RuntimeError):
    """A piece of the test cluster could not be built, started or checked."""

    def __init__(self, piece: str, problem: str) -> None:
        super().__init__(f"{piece}: {problem}")
        self.piece = piece
        self.problem = problem
