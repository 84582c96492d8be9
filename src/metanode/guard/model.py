"""The learned half of the guard: scikit-learn's IsolationForest fitted on the features of normal
traffic (traces.normal), one model per kind of subject. A row it isolates in few splits is
anomalous. Fitted with a fixed seed, so two nodes (and two runs of the bench) agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy
from sklearn.ensemble import IsolationForest

trees = 100
# A row is anomalous when its decision value is below this: below 0 is "shorter paths than
# the training data's contamination quantile"; the margin keeps the normal tail unflagged.
decision_margin = -0.12
contamination = 0.01


class Forest:
    def __init__(self, normal_rows: Sequence[Sequence[float]], seed: int = 0) -> None:
        self.forest = IsolationForest(
            n_estimators=trees, contamination=contamination, random_state=seed
        )
        self.forest.fit(_scaled(normal_rows))

    def anomalous(self, rows: Sequence[Sequence[float]]) -> list[bool]:
        values = self.forest.decision_function(_scaled(rows))
        return [bool(value < decision_margin) for value in values]


def _scaled(rows: Sequence[Sequence[float]]) -> numpy.ndarray:
    """log(1 + x): rates of honest subjects span orders of magnitude (a wallet, a loader, a
    busy validator), and an attack is a jump of an order, not a step."""
    return numpy.log1p(numpy.asarray(rows, dtype=numpy.float64))
