"""The MLflow model of a trained net, logged as code: nothing in it is pickled.

MLflow logs this file as the model ("models from code") beside three plain artifacts:
the state dict (model.pt), the resolved run config (config.yaml) and the dataset's
meta.json. Loading runs this file, which rebuilds the net from them with the seqlab
source logged beside it: no pickle to trust, and no warning from MLflow about one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import numpy as np

# The names the artifacts are logged under (keys of context.artifacts).
WEIGHTS, CONFIG, META = "weights", "config", "meta"


def load_net(weights: Path, config: Path, meta: Path) -> Any:
    """The net of config.yaml sized by meta.json, with the weights of model.pt, in eval mode."""
    import torch
    from omegaconf import OmegaConf

    from seqlab.data.meta import Meta
    from seqlab.models import net_for_data

    cfg = OmegaConf.load(config)
    net = net_for_data(cfg.model, Meta.from_json(json.loads(Path(meta).read_text()), str(meta)))
    # weights_only: the state dict is tensors only; refuse anything that would run code.
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return net.eval()


class ServedNet(mlflow.pyfunc.PythonModel):
    """Predict with the net: inputs (N x T x F, or token ids N x T) -> its outputs.

    The logged tensor signature makes MLflow turn a DataFrame (as `mlflow models serve`
    passes, one row per input) into that array before `predict` sees it. Padded inputs
    (meta.variable_length) may come with `params={"lengths": [...]}`; without them every
    step counts as real.
    """

    def load_context(self, context: Any) -> None:
        files = context.artifacts
        self.net = load_net(files[WEIGHTS], files[CONFIG], files[META])

    def predict(self, context: Any, model_input: np.ndarray,
                params: dict[str, Any] | None = None) -> np.ndarray:
        import torch

        inputs = np.asarray(model_input)
        if np.issubdtype(inputs.dtype, np.floating):
            inputs = inputs.astype(np.float32)  # JSON and pandas give float64; weights are 32
        lengths = (params or {}).get("lengths")
        lengths = None if lengths is None or len(lengths) == 0 else torch.as_tensor(lengths)
        with torch.no_grad():
            outputs = self.net(torch.from_numpy(inputs), lengths)
        return outputs.numpy()


mlflow.models.set_model(ServedNet())
