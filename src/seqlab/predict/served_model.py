"""The MLflow model of a trained net, logged as code: nothing in it is pickled.

MLflow logs this file as the model ("models from code") beside three plain artifacts:
the state dict (model.pt), the resolved run config (config.yaml) and the dataset's
meta.json. Loading runs this file, which rebuilds the net from them with the seqlab
source logged beside it: no pickle to trust, and no warning from MLflow about one.

It answers raw inputs with answers in the user's terms, exactly as `python -m
seqlab.predict` does (both are seqlab.predict.trained.TrainedModel): a table in the
dataset's own columns in (a dated series, texts, sentences, pixel levels), a table of
forecasts, labels, tags or texts out. A bad input is a 400 answer with one line saying
what is wrong (MLflow's invalid-parameter error), never NaN in the body. Where an answer
is a guess (inputs unlike the training data), a `warning` column says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

# The names the artifacts are logged under (keys of context.artifacts).
WEIGHTS, CONFIG, META = "weights", "config", "meta"
WARNING = "warning"  # the answers' column saying where an answer is a guess, if any is


def signature(example: pd.DataFrame, answers: pd.DataFrame) -> Any:
    """Named columns in and out, and an optional `id` column the answers keep.

    The inputs are named but neither typed nor required: MLflow's own checks of a typed,
    required column run before predict and answer a string, a NaN in a whole-number
    column or a missing column with a message of their own (and a dump of the request);
    seqlab's check of the same (seqlab.predict.inputs) names the row and the column."""
    import warnings

    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, Schema
    from mlflow.types.schema import AnyType

    from seqlab.data.raw_inputs import ID

    names = [*example.columns, *([] if ID in example.columns else [ID])]
    with warnings.catch_warnings():  # MLflow's hint that whole numbers cannot be missing
        warnings.filterwarnings("ignore", "Hint: Inferred schema contains integer")
        outputs = infer_signature(answers).inputs
    return ModelSignature(Schema([ColSpec(AnyType(), str(name), required=False)
                                  for name in names]), outputs)


class RequestRefused(MlflowException):
    """A bad request: a 400 whose message is seqlab's one line.

    MLflow's scoring server rewrites the message of an MlflowException raised by predict
    into "Failed to predict data '<the whole request as a table>'. Error: ..."
    (mlflow.pyfunc.scoring_server.invocations); this one keeps the line it was made with.
    """

    def __init__(self, line: str) -> None:
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

        super().__init__(line, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:
        return self._line

    @message.setter
    def message(self, value: str) -> None:
        if not hasattr(self, "_line"):  # set once, by MlflowException.__init__
            self._line = value


class ServedNet(mlflow.pyfunc.PythonModel):
    """Raw inputs (a DataFrame of the dataset's columns) -> answers (a DataFrame)."""

    def load_context(self, context: Any) -> None:
        from seqlab.model_folder import ModelFiles
        from seqlab.predict.trained import TrainedModel

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
        from seqlab.data.raw_inputs import Place
        from seqlab.errors import SeqlabError

        try:
            rows = Place("request", first=1, unit="row")
            answers, doubts = self.model.answer(pd.DataFrame(model_input), rows)
        except SeqlabError as error:
            raise RequestRefused(str(error)) from None
        if doubts:  # where an answer is a guess, a note says why (predict's warning lines)
            answers[WARNING] = doubts.column()
        return answers


mlflow.models.set_model(ServedNet())
