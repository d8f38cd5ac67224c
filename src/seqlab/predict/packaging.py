"""What a trained model is logged to MLflow as: a model from code (seqlab/predict/
served_model.py) with the model folder's weights, config and data meta as plain files.

Nothing is pickled, and loading it runs no code but seqlab's and the user's own modules
(the folder's code/, logged beside seqlab's). It answers raw inputs, as `python -m
seqlab.predict` does; its input example is the data's raw example. The caller hands
`package` to the run's log_model (seqlab.tracking.run), which logs what it returns:
importing this module costs nothing, so a stage that trains need not import MLflow.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

import seqlab
from seqlab.layout import CONFIG_FILE, META_FILE, MODEL_FILE
from seqlab.model_folder import CODE_DIR

SERVED_MODEL = Path(__file__).with_name("served_model.py")
REQUIREMENTS = ("torch", "numpy", "pandas", "omegaconf", "hydra-core")


def package(model_dir: Path) -> dict[str, Any]:
    """The keyword arguments of mlflow.pyfunc.log_model for the model in `model_dir`."""
    import mlflow

    from seqlab.predict import served_model
    from seqlab.predict.inputs import example

    model_dir = Path(model_dir)
    artifacts = {served_model.WEIGHTS: str(model_dir / MODEL_FILE),
                 served_model.CONFIG: str(model_dir / CONFIG_FILE),
                 served_model.META: str(model_dir / META_FILE)}
    # The signature's outputs come from the served model itself, as loading will build it.
    served = served_model.ServedNet()
    served.load_context(mlflow.pyfunc.PythonModelContext(artifacts, None))
    # A dataset kind of the user's own may not describe its raw inputs (Meta.raw): the
    # model is logged all the same, without an example to check a signature against.
    raw = example(served.model.meta) if served.model.meta.raw else None
    signature = None if raw is None else served_model.signature(raw, served.model.predict(raw))
    code = [str(Path(seqlab.__file__).parent)]
    if (model_dir / CODE_DIR).is_dir():
        code += [str(p) for p in sorted((model_dir / CODE_DIR).iterdir())]
    return {"python_model": str(SERVED_MODEL), "artifacts": artifacts, "code_paths": code,
            "signature": signature, "input_example": raw,
            "pip_requirements": [f"{p}=={version(p)}" for p in REQUIREMENTS]}
