"""The MLflow model of a trained net, logged as code: nothing in it is pickled.

MLflow logs this file as the model ("models from code") beside three plain artifacts:
the state dict (model.pt), the resolved run config (config.yaml) and the dataset's
meta.json. Loading runs this file, which rebuilds the net from them with the seqlab
source logged beside it: no pickle to trust, and no warning from MLflow about one.

It answers raw inputs with answers in the user's terms, exactly as `python -m
seqlab.predict` does (both are seqlab.predict.trained.TrainedModel): a table in the
dataset's own columns in (a dated series, texts, sentences, pixel levels), a table of
forecasts, labels, tags or texts out. A bad input is a 400 answer with one line saying
what is wrong (MLflow's invalid-parameter error), never NaN in the body.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

# The names the artifacts are logged under (keys of context.artifacts).
WEIGHTS, CONFIG, META = "weights", "config", "meta"


def signature(example: pd.DataFrame, answers: pd.DataFrame) -> Any:
    """Named columns in and out, typed as the data holds them (grey levels as whole
    numbers, series values as decimals), and an optional `id` column the answers keep."""
    from mlflow.models import infer_signature
    from mlflow.types import ColSpec, Schema

    from seqlab.predict.inputs import ID

    found = infer_signature(example, answers)
    if ID not in example.columns:
        found.inputs = Schema([*found.inputs.inputs, ColSpec("string", ID, required=False)])
    return found


class ServedNet(mlflow.pyfunc.PythonModel):
    """Raw inputs (a DataFrame of the dataset's columns) -> answers (a DataFrame)."""

    def load_context(self, context: Any) -> None:
        from seqlab.predict.trained import ModelFiles, TrainedModel

        files = context.artifacts
        weights = Path(files[WEIGHTS])
        # The user's own modules: MLflow's copy of the code paths (artifacts/../code), or
        # the model folder's code/ while the model is being logged.
        code = next((d for d in (weights.parents[1] / "code", weights.parent / "code")
                     if d.is_dir()), None)
        self.model = TrainedModel(ModelFiles(weights, Path(files[CONFIG]), Path(files[META]),
                                             code))

    def predict(self, context: Any, model_input: pd.DataFrame,
                params: dict[str, Any] | None = None) -> pd.DataFrame:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

        from seqlab.errors import SeqlabError
        from seqlab.predict.inputs import Place

        try:
            rows = Place("request", first=1, unit="row")
            return self.model.predict(pd.DataFrame(model_input), rows)
        except SeqlabError as error:
            raise MlflowException(str(error), error_code=INVALID_PARAMETER_VALUE) from None


mlflow.models.set_model(ServedNet())
