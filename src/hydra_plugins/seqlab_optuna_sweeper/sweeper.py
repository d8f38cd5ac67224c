"""The Optuna sweeper: a study of `n_trials` trials, launched `n_jobs` at a time.

Each trial is one job of the launcher (in this process, or in joblib's workers), given
the sampled values as overrides and `trial={study,storage,number}`, through which the
job reports its epochs for pruning (seqlab.sweeps.pruning). Its objective is what the
job returns: `seqlab.train` returns its headline on the validation split at the kept
epoch (val/acc, val/mse); the test split is never read by the search.

The study lives in a database (sqlite:///<project root>/optuna.db unless `storage` says
otherwise) under `study_name`, so a sweep is resumable: `n_trials` is the study's total,
and the same command after an interruption runs only the trials still missing (COMPLETE
and PRUNED ones count; a trial a stopped sweep left RUNNING is marked FAIL, and run again).
One sweep at a time per study: a second one on the same machine refuses to start.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf

if TYPE_CHECKING:  # heavy imports wait for a sweep: Hydra imports this module every run
    from hydra.core.utils import JobReturn
    from hydra.plugins.launcher import Launcher
    from hydra.types import HydraContext, TaskFunction
    from optuna import Study

    from hydra_plugins.seqlab_optuna_sweeper._space import SearchSpace

log = logging.getLogger(__name__)
OWNER_ATTR = "seqlab.sweeper"  # host:pid of the sweep that runs a trial
RESULTS_FILE = "optimization_results.yaml"  # in the sweep folder, as hydra-optuna-sweeper


class OptunaSweeper(Sweeper):
    def __init__(self, n_trials: int, n_jobs: int | None, direction: str | None,
                 study_name: str | None, storage: str | None, sampler: DictConfig | None,
                 pruner: DictConfig | None, params: DictConfig | None) -> None:
        super().__init__()
        self.n_trials, self.n_jobs, self.direction = n_trials, n_jobs, direction
        self.study_name, self.storage = study_name, storage
        self.sampler, self.pruner, self.params = sampler, pruner, params
        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.launcher: Launcher | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> list[list[JobReturn]]:
        from seqlab.errors import run_cli

        return run_cli(lambda: self._sweep(list(arguments)))  # user errors as one line

    # -- the study ----------------------------------------------------------------------

    def _sweep(self, arguments: list[str]) -> list[list[JobReturn]]:
        import optuna

        from hydra_plugins.seqlab_optuna_sweeper import _results
        from hydra_plugins.seqlab_optuna_sweeper._space import parse_space
        from seqlab.checks import require_int
        from seqlab.sweeps.pruning import HEADLINE_ATTR, PRUNER_ATTR

        assert self.config is not None
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # Hydra's log says enough
        require_int("hydra.sweeper.n_trials", self.n_trials, minimum=1)
        space = parse_space(self.params, arguments, self.config)
        self._check(space)
        headline, direction = self._objective()
        storage = storage_url(self.storage)
        study = open_study(self.study_name or default_study_name(self.config), storage,
                           direction)
        reclaim(study)
        study.set_user_attr(HEADLINE_ATTR, headline)
        study.set_user_attr(PRUNER_ATTR, self._pruner_config())
        study.sampler = self._make_sampler(len(study.get_trials(deepcopy=False)))

        done = len(counted(study))
        todo, batch = max(0, self.n_trials - done), self._batch_size()
        log.info(f"Optuna study {study.study_name!r} ({direction} val/{headline}) in {storage}: "
                 f"{done} of {self.n_trials} trials done, {todo} to run, {batch} at a time")
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        returns = []
        while todo > 0:
            trials = [study.ask(space.distributions) for _ in range(min(batch, todo))]
            returns.append(self._run(study, storage, space, trials))
            todo -= len(trials)
        _results.summarise(study, f"val/{headline}", storage, self.config,
                           sweep_dir / RESULTS_FILE)
        return returns

    def _run(self, study: Study, storage: str, space: SearchSpace, trials: list[Any]
             ) -> list[JobReturn]:
        """Launch one batch of trials and tell the study how each ended.

        A batch that stops half way (Ctrl-C, a job's error ending this process) marks its
        trials not yet told FAIL, so that the next sweep runs them again.
        """
        from optuna.trial import TrialState

        from hydra_plugins.seqlab_optuna_sweeper._space import quote

        assert self.launcher is not None
        for trial in trials:
            trial.set_user_attr(OWNER_ATTR, owner())
        study_key = f"study:{quote(study.study_name)},storage:{quote(storage)}"
        batch = [[*space.overrides(trial.params),
                  f"trial={{{study_key},number:{trial.number}}}"] for trial in trials]
        told: set[int] = set()
        try:
            results = self.launcher.launch(batch, initial_job_idx=trials[0].number)
            errors = []
            for trial, result in zip(trials, results, strict=True):
                state, value, error = outcome(study, trial.number, result)
                study.tell(trial.number, value, state=state)
                told.add(trial.number)
                log.info(f"Trial {trial.number} {state.name}"
                         + (f": {value:.4f}" if value is not None else "")
                         + f" with {trial.params}")
                if error is not None:
                    errors.append(error)
        except BaseException:
            for trial in trials:
                if trial.number not in told:
                    study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            raise
        if errors:  # a job that failed for a reason of its own: as Hydra's sweeper does
            raise errors[0]
        return list(results)

    # -- settings -----------------------------------------------------------------------

    def _check(self, space: SearchSpace) -> None:
        """Compose and validate a run at every choice and bound of each parameter, so that
        a value no run accepts stops the sweep now, not in trial 37."""
        from hydra.errors import HydraException

        from seqlab.config import validate
        from seqlab.errors import ConfigError

        assert self.hydra_context is not None and self.config is not None
        loader = self.hydra_context.config_loader
        for overrides in space.extremes():
            tried = overrides[-1]
            try:
                job = loader.load_sweep_config(self.config, overrides)
                validate(OmegaConf.masked_copy(job, [k for k in job if k != "hydra"]))
            except ConfigError as error:
                raise ConfigError(f"search space {tried}: {error}") from None
            except HydraException as error:
                message = " ".join(str(error).split()).split(" Config search path:")[0]
                if error.__cause__ is not None:
                    message += f" ({str(error.__cause__).splitlines()[0]})"
                raise ConfigError(f"search space {tried}: {message}") from None

    def _objective(self) -> tuple[str, str]:
        """The headline metric's name and the study's direction: the metric's own unless
        `direction` is set."""
        from seqlab.checks import require_choice
        from seqlab.config import instantiate
        from seqlab.tasks import task_of

        assert self.config is not None
        spec = instantiate(self.config.dataset, "dataset")
        # A numeric-sequence kind's `task` is a setting (auto: read from its file).
        task = task_of(getattr(spec, "trained_task", spec.task))
        direction = self.direction or ("maximize" if task.higher_is_better else "minimize")
        require_choice("hydra.sweeper.direction", direction, ("minimize", "maximize"))
        return task.headline, direction

    def _batch_size(self) -> int:
        """`n_jobs`, else the launcher's own n_jobs (joblib's; -1: every CPU), else 1."""
        from seqlab.checks import require_int

        assert self.config is not None
        if self.n_jobs is not None:
            require_int("hydra.sweeper.n_jobs", self.n_jobs, minimum=1)
            return self.n_jobs
        n = self.config.hydra.launcher.get("n_jobs")
        if isinstance(n, int) and n < 0:  # joblib counts back from the CPU count
            n = (os.cpu_count() or 1) + 1 + n
        return n if isinstance(n, int) and n > 0 else 1

    def _make_sampler(self, trials_so_far: int) -> Any:
        """The sampler, its seed moved on by the study's trials so far: a resumed study
        draws new points instead of replaying its first ones."""
        import optuna

        from seqlab.config import instantiate

        if self.sampler is None:
            return optuna.samplers.TPESampler()
        conf = self.sampler
        if isinstance(conf.get("seed"), int):
            conf = OmegaConf.merge(conf, {"seed": conf.seed + trials_so_far})
        return instantiate(conf, "hydra.sweeper.sampler")

    def _pruner_config(self) -> dict[str, Any] | None:
        """The pruner's config, checked; the jobs build the pruner from it."""
        from seqlab.config import instantiate

        if self.pruner is None:
            return None
        instantiate(self.pruner, "hydra.sweeper.pruner")
        return OmegaConf.to_container(self.pruner, resolve=True)


def default_study_name(config: DictConfig) -> str:
    """The search's and the experiment's names, e.g. course_ex2 (once when they agree)."""
    choices = config.hydra.runtime.choices
    names = [choices.get("hparams_search"), choices.get("experiment")]
    return "-".join(dict.fromkeys(n for n in names if n)) or "seqlab"


def storage_url(url: str | None) -> str:
    """The study's database: sqlite:///<project root>/optuna.db by default; a relative
    SQLite path is taken from the project root, as the MLflow store's is."""
    from seqlab.errors import ConfigError
    from seqlab.layout import project_root

    prefix = "sqlite:///"
    if not url:
        return f"{prefix}{project_root() / 'optuna.db'}"
    if url in ("sqlite://", f"{prefix}:memory:"):
        raise ConfigError("hydra.sweeper.storage: an in-memory database is not shared with "
                          "the trials' jobs; give a file, e.g. sqlite:///optuna.db")
    if url.startswith(prefix) and not url[len(prefix):].startswith("/"):
        return f"{prefix}{project_root() / url[len(prefix):]}"
    return url


def open_study(name: str, storage: str, direction: str) -> Study:
    """The study `name` in `storage`, created if new; one that optimises the other way
    is an error, not a silent mix of objectives."""
    import optuna

    from seqlab.errors import ConfigError
    from seqlab.sweeps.pruning import open_storage

    if storage.startswith("sqlite:///"):  # SQLite makes the file, not its folder
        Path(storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(study_name=name, storage=open_storage(storage),
                                direction=direction, load_if_exists=True)
    if study.direction.name.lower() != direction:
        raise ConfigError(f"hydra.sweeper.direction: study {name!r} in {storage} was made to "
                          f"{study.direction.name.lower()}, not {direction}; give another "
                          "hydra.sweeper.study_name")
    return study


def counted(study: Study) -> list[Any]:
    """The trials that count towards n_trials: those that ran to their end or were pruned."""
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def reclaim(study: Study) -> None:
    """Mark FAIL the trials a stopped sweep left RUNNING, so that they are run again; a
    sweep still alive on this machine is left alone, and this one refuses to start."""
    from optuna.trial import TrialState

    from seqlab.errors import ConfigError

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        host, _, pid = str(trial.user_attrs.get(OWNER_ATTR, "")).rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and _alive(int(pid)):
            raise ConfigError(f"study {study.study_name!r}: trial {trial.number} is being run "
                              f"by another sweep (process {pid}); wait for it to end, or "
                              "give another hydra.sweeper.study_name")
        study.tell(trial.number, state=TrialState.FAIL)
        log.warning(f"Trial {trial.number} was left running by a stopped sweep: marked FAIL, "
                    "to be run again")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return pid != os.getpid()


def outcome(study: Study, number: int, result: JobReturn
            ) -> tuple[Any, float | None, BaseException | None]:
    """(state, value, error) of a trial's job.

    PRUNED when its job left the pruning mark (however the job ended after it); COMPLETE
    with a finite number returned; FAIL otherwise, with the job's own error if it raised.
    """
    import math

    from optuna.trial import TrialState

    from seqlab.sweeps.pruning import PRUNED_ATTR

    trial = next(t for t in study.get_trials(deepcopy=False) if t.number == number)
    if PRUNED_ATTR in trial.user_attrs:
        return TrialState.PRUNED, None, None
    try:
        value = result.return_value  # raises the job's error, if it failed
    except Exception as error:
        return TrialState.FAIL, None, error
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return TrialState.COMPLETE, float(value), None
    log.warning(f"Trial {number}: its job returned {value!r}, not a number: marked FAIL")
    return TrialState.FAIL, None, None
