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

`search=auto` (conf/search/auto.yaml) searches the model families that fit the task
(seqlab_optuna_sweeper._families) within `search.budget_minutes` and `search.trials`;
its settings are the config's `search` section, which the trials' runs leave out. A
trial whose family cannot run on the data (its job fails) is reported in one line and
the search goes on; the sweep fails only when no trial completes.
"""

from __future__ import annotations

import logging
import os
import socket
import time
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
SEARCH_KEYS = {"trials", "budget_minutes", "storage", "families", "params", "ensemble"}
OWNER_ATTR = "seqlab.sweeper"  # host:pid of the sweep that runs a trial
FOLDER_ATTR = "seqlab.folder"  # a finished trial's output folder (its model/ inside)
RESULTS_FILE = "optimization_results.yaml"  # in the sweep folder, as hydra-optuna-sweeper


class OptunaSweeper(Sweeper):
    def __init__(self, n_trials: int, n_jobs: int | None, direction: str | None,
                 study_name: str | None, storage: str | None, sampler: DictConfig | None,
                 pruner: DictConfig | None, params: DictConfig | None) -> None:
        super().__init__()
        self.n_trials, self.n_jobs, self.direction = n_trials, n_jobs, direction
        self.study_name, self.storage = study_name, storage
        self.sampler, self.pruner, self.params = sampler, pruner, params
        self.budget_minutes: float | None = None  # search=auto's settings (search.*)
        self.families: DictConfig | None = None
        self.ensemble: int | None = None  # search.ensemble: the k best trials averaged
        self.failures: list[BaseException] = []  # auto: trials whose job failed
        self.began = time.monotonic()
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
        from seqlab.checks import require_int
        from seqlab.sweeps.pruning import HEADLINE_ATTR, PRUNER_ATTR

        assert self.config is not None
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # Hydra's log says enough
        if self.config.hydra.runtime.choices.get("hparams_search"):
            log.warning("hparams_search=<name> is now search=<name>; the old name still works")
        self._take_search_settings()
        require_int("hydra.sweeper.n_trials", self.n_trials, minimum=1)
        headline, direction = self._objective()
        spaces = self._spaces(arguments)
        if self.families:
            spaces = self._runnable(spaces)
        else:  # every range's ends: a value no run accepts stops the sweep now
            for space in spaces.values():
                self._check(space.extremes() or [space.fixed])
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
        returns, self.began = [], time.monotonic()
        while todo > 0:
            if self._budget_spent():
                log.info(f"Budget of {self.budget_minutes:g} minutes spent: no further trial "
                         f"({todo} not run; the same command resumes the study)")
                break
            trials = [self._ask(study, spaces) for _ in range(min(batch, todo))]
            returns.append(self._run(study, storage, spaces, trials))
            todo -= len(trials)
        if self.failures and not any(t.state.name == "COMPLETE" for t in counted(study)):
            raise self.failures[0]
        _results.summarise(study, f"val/{headline}", storage, self.config,
                           sweep_dir / RESULTS_FILE)
        self._conclude(study, sweep_dir)  # the study's answer, scored once on test
        return returns

    def _run(self, study: Study, storage: str, spaces: dict[str, SearchSpace],
             trials: list[Any]) -> list[JobReturn]:
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
        batch = [[*self._overrides(trial.params, spaces),
                  f"trial={{{study_key},number:{trial.number}}}"] for trial in trials]
        told: set[int] = set()
        try:
            results = self.launcher.launch(batch, initial_job_idx=trials[0].number)
            errors = []
            for trial, result in zip(trials, results, strict=True):
                state, value, error = outcome(study, trial.number, result)
                if state == TrialState.COMPLETE:  # where its model is, for the ensemble
                    trial.set_user_attr(FOLDER_ATTR, OmegaConf.select(
                        result.hydra_cfg, "hydra.runtime.output_dir"))
                study.tell(trial.number, value, state=state)
                told.add(trial.number)
                log.info(self._progress(study, trial, state.name, value))
                if error is not None and self.families:  # that family cannot run here
                    log.warning(f"Trial {trial.number} failed: {_first_line(error)}")
                    self.failures.append(error)
                elif error is not None:
                    errors.append(error)
        except BaseException:
            for trial in trials:
                if trial.number not in told:
                    study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            raise
        if errors:  # a job that failed for a reason of its own: as Hydra's sweeper does
            raise errors[0]
        return list(results)

    def _conclude(self, study: Study, sweep_dir: Path) -> None:
        """The study's answer: its best trial, or the ensemble of its `search.ensemble`
        best, whichever validates better, scored once on test (the trials never are) and
        logged as the sweep's parent run's model (seqlab.sweeps.ensemble)."""
        from seqlab.sweeps.ensemble import Candidate, conclude, finished

        assert self.config is not None
        done = [t for t in counted(study) if t.state.name == "COMPLETE" and
                t.user_attrs.get(FOLDER_ATTR)]
        up = study.direction.name == "MAXIMIZE"
        done.sort(key=lambda t: -t.value if up else t.value)
        candidates = finished([Candidate(Path(t.user_attrs[FOLDER_ATTR]), f"trial {t.number}")
                               for t in done])
        conclude(candidates, sweep_dir, self.config.tracking, size=self.ensemble or 1,
                 always=False)

    # -- search=auto --------------------------------------------------------------------

    def _take_search_settings(self) -> None:
        """`search.trials`, `search.budget_minutes`, `search.storage`, `search.families`
        and `search.params` (search=auto), over the sweeper's own keys."""
        from seqlab.checks import require_number

        assert self.config is not None
        search = self.config.get("search")
        if not isinstance(search, DictConfig):
            return
        unknown = sorted(set(search) - SEARCH_KEYS)
        if unknown:
            from seqlab.errors import ConfigError

            raise ConfigError(f"search.{unknown[0]}: unknown key; search=auto takes "
                              f"{', '.join(sorted(SEARCH_KEYS))}")
        self.n_trials = search.get("trials", self.n_trials)
        self.storage = search.get("storage") or self.storage
        self.budget_minutes = search.get("budget_minutes")
        if self.budget_minutes is not None:
            require_number("search.budget_minutes", self.budget_minutes, 0, None,
                           low_open=True)
        self.families = search.get("families")
        self.ensemble = search.get("ensemble")
        if self.ensemble is not None:
            from seqlab.checks import require_int

            require_int("search.ensemble", self.ensemble, minimum=1)
        if search.get("params") is not None:
            self.params = search.params

    def _spaces(self, arguments: list[str]) -> dict[str, SearchSpace]:
        """One space (named "") from hydra.sweeper.params; under search=auto, one per
        family that fits the data's archetype and task."""
        from hydra_plugins.seqlab_optuna_sweeper._families import family_spaces
        from hydra_plugins.seqlab_optuna_sweeper._space import parse_space

        assert self.config is not None
        if not self.families:
            return {"": parse_space(self.params, arguments, self.config)}
        archetype, task = self._data_kind()
        assert self.hydra_context is not None
        loader, config = self.hydra_context.config_loader, self.config
        spaces = family_spaces(self.families, self.params, arguments, self.config,
                               archetype, task,
                               lambda overrides: loader.load_sweep_config(config, overrides),
                               config.hydra.runtime.choices.get("experiment"))
        log.info(f"search=auto on a {task} task ({archetype}): families "
                 f"{', '.join(spaces)}; at most {self.n_trials} trials"
                 + (f" or {self.budget_minutes:g} minutes" if self.budget_minutes else ""))
        return spaces

    def _ask(self, study: Study, spaces: dict[str, SearchSpace]) -> Any:
        from hydra_plugins.seqlab_optuna_sweeper._families import ask

        return ask(study, spaces) if self.families else study.ask(spaces[""].distributions)

    def _overrides(self, params: dict[str, Any], spaces: dict[str, SearchSpace]
                   ) -> list[str]:
        from hydra_plugins.seqlab_optuna_sweeper._families import overrides

        return overrides(params, spaces) if self.families else spaces[""].overrides(params)

    def _budget_spent(self) -> bool:
        return (self.budget_minutes is not None
                and time.monotonic() - self.began >= 60 * self.budget_minutes)

    def _progress(self, study: Study, trial: Any, state: str, value: float | None) -> str:
        """One line per trial: its family, value, the best so far and the time spent."""
        from hydra_plugins.seqlab_optuna_sweeper._families import FAMILY

        family = trial.params.get(FAMILY)
        line = f"Trial {trial.number}" + (f" [{family}]" if family else "") + f" {state}"
        line += f": {value:.4f}" if value is not None else ""
        try:
            best = study.best_trial
            best_family = best.params.get(FAMILY)
            line += (f"; best {best.value:.4f} (trial {best.number}"
                     + (f", {best_family}" if best_family else "") + ")")
        except ValueError:  # no trial completed yet
            pass
        spent = (time.monotonic() - self.began) / 60
        line += f"; {spent:.1f}" + (f" of {self.budget_minutes:g}" if self.budget_minutes
                                     else "") + " min"
        shown = {k.split("/", 1)[-1]: round(v, 6) if isinstance(v, float) else v
                 for k, v in trial.params.items() if k != FAMILY}
        return line + f" with {shown}"

    def _data_kind(self) -> tuple[str, str]:
        """The dataset's archetype and task, from its spec (no data is read)."""
        from seqlab.config import instantiate

        assert self.config is not None
        spec = instantiate(self.config.dataset, "dataset")
        return spec.archetype, getattr(spec, "trained_task", spec.task)

    # -- settings -----------------------------------------------------------------------

    def _runnable(self, spaces: dict[str, SearchSpace]) -> dict[str, SearchSpace]:
        """search=auto: the families whose config composes and validates at their first
        values (the shipped ranges are tested; a trial that fails later is said and the
        search goes on); one whose config cannot run here is left out in one line."""
        from seqlab.errors import ConfigError

        kept, refused = {}, []
        for name, space in spaces.items():
            try:
                self._check([space.first()])
                kept[name] = space
            except ConfigError as error:
                log.warning(f"search=auto: the {name} family is left out: {error}")
                refused.append(error)
        if not kept:
            raise refused[0]
        return kept

    def _check(self, runs: list[list[str]]) -> None:
        """Compose and validate a run with each of `runs`' overrides (a value at each
        choice and bound of a space's parameters), so that a value no run accepts stops
        the sweep now, not in trial 37."""
        from hydra.errors import HydraException

        from seqlab.config import validate
        from seqlab.errors import ConfigError

        assert self.hydra_context is not None and self.config is not None
        loader = self.hydra_context.config_loader
        for overrides in runs:
            tried = overrides[-1] if overrides else "(none)"
            try:
                job = loader.load_sweep_config(self.config, overrides)
                validate(OmegaConf.masked_copy(job, [k for k in job
                                                     if k not in ("hydra", "search")]))
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


# Overrides that leave the problem as it is: the search's own settings, where runs are
# recorded, and Hydra's. Any other (a dataset, a horizon, a problem) makes another study.
SAME_PROBLEM = ("search", "hparams_search", "hydra", "tracking", "experiment=")


def default_study_name(config: DictConfig) -> str:
    """The search's and the experiment's names, e.g. course_ex2 (once when they agree),
    and a hash of the command line's other overrides when it has some (auto-uea-1a2b3c4d):
    the same command resumes its study, another problem never does."""
    import hashlib

    choices = config.hydra.runtime.choices
    names = [choices.get("search") or choices.get("hparams_search"), choices.get("experiment")]
    name = "-".join(dict.fromkeys(n for n in names if n)) or "seqlab"
    problem = sorted(o for o in config.hydra.overrides.task
                     if not o.lstrip("~+").startswith(SAME_PROBLEM))
    if not problem:
        return name
    return f"{name}-{hashlib.sha256(' '.join(problem).encode()).hexdigest()[:8]}"


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


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
