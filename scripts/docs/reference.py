"""The site's Reference pages, read from the project itself: the config groups of conf/,
each command's --help, and the MLflow tag and metric names from seqlab.tracking."""

from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
import tokenize
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from scripts.docs.results import HEADER, cell

# The commands a user runs, with `--help`: (module, how the Makefile runs it, if it does).
# seqlab.tracking.init has no options (`make run` calls it); seqlab.tracking.upload is
# seqlab.upload's old name.
COMMANDS = [
    ("seqlab.train", ""), ("seqlab.predict", ""), ("seqlab.predict.serve", "make serve"),
    ("seqlab.reproduce", ""), ("seqlab.upload", ""), ("seqlab.params", "make params"),
    ("seqlab.stages.fetch", "dvc repro"), ("seqlab.stages.preprocess", "dvc repro"),
    ("seqlab.stages.train", "dvc repro"), ("seqlab.stages.evaluate", "dvc repro"),
    ("seqlab.stages.report", "dvc repro"), ("seqlab.tracking.server", "make server"),
    ("seqlab.bench", "make bench"), ("seqlab.compare", "make compare"),
    ("seqlab.profile", "make profile"), ("seqlab.gpu_check", "make gpu-check"),
]


def header_comment(text: str) -> str:
    """A config file's leading comment, as prose (Hydra's `@package` line left out)."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if not line.startswith("# @package"):
            lines.append(line[1:].strip())
    return " ".join(lines)


def defaults(conf: Path) -> dict[str, str]:
    """train.yaml's default option of each group (null: none)."""
    found = {}
    for item in yaml.safe_load((conf / "train.yaml").read_text()).get("defaults", []):
        if isinstance(item, dict):
            for group, option in item.items():
                found[group] = "none" if option is None else str(option)
    return found


def groups(conf: Path) -> dict[str, list[Path]]:
    """Each config group (a folder of conf/, `hydra/launcher` included) and its options."""
    found: dict[str, list[Path]] = {}
    for path in sorted(conf.rglob("*.yaml")):
        if path.parent != conf:
            found.setdefault(path.parent.relative_to(conf).as_posix(), []).append(path)
    return found


def config_page(conf: Path) -> str:
    """Every config group of `conf`, its options, what each is for and its keys."""
    chosen = defaults(conf)
    found = groups(conf)
    lines = ["# Configuration", "",
             HEADER.format(source="`conf/`", maker="an edit of `conf/`", it="it"),
             "`python -m seqlab.train` composes `conf/train.yaml`: one option of each group "
             "below (`group=option` on the command line), then any key "
             "(`group.key=value`). `make params` composes every entry of "
             "`conf/pipeline.yaml` the same way into `params.yaml` "
             "(see [conf/ → params.yaml → DVC stages](../concepts/configuration.md)).", "",
             "| group | options | default |", "|---|---|---|"]
    for group, paths in found.items():
        options = ", ".join(f"`{p.stem}`" for p in paths)
        lines.append(f"| [{group}](#{group.replace('/', '')}) | {options} "
                     f"| {chosen.get(group, '–')} |")
    for name in ("train.yaml", "pipeline.yaml"):
        text = (conf / name).read_text()
        lines += ["", f"## {name}", "", cell(header_comment(text)), "",
                  f'??? note "conf/{name}"', "    ```yaml",
                  *("    " + line for line in text.splitlines()), "    ```"]
    for group, paths in found.items():
        lines += ["", f"## {group}", ""]
        lines += ["| option | what it is |", "|---|---|"]
        lines += [f"| `{p.stem}` | {cell(header_comment(p.read_text()))} |" for p in paths]
        for path in paths:
            lines += ["", f'??? note "conf/{group}/{path.name}"', "    ```yaml",
                      *("    " + line for line in path.read_text().splitlines()), "    ```"]
    return "\n".join(lines) + "\n"


def help_text(module: str, root: Path) -> str:
    """`python -m <module> --help`, as a user sees it in an 80-column terminal."""
    env = {**os.environ, "COLUMNS": "80", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root / "src")}
    done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"python -m {module} --help failed ({done.returncode}): "
                           f"{done.stderr.strip()[-500:]}")
    return done.stdout.rstrip()


def commands_page(root: Path) -> str:
    """Every command's `--help`, run now, so the page is what the code says."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        helps = list(pool.map(lambda c: help_text(c[0], root), COMMANDS))
    lines = ["# Commands", "",
             HEADER.format(source="each command's `--help`", maker="any change to a command",
                           it="it"),
             "Run them inside `.venv` (or as `.venv/bin/python -m ...`).", "",
             "| command | run by |", "|---|---|"]
    lines += [f"| [`python -m {m}`](#{m.replace('.', '')}) | {make or '–'} |"
              for m, make in COMMANDS]
    for (module, _), text in zip(COMMANDS, helps, strict=True):
        lines += ["", f"## {module}", "", f"`python -m {module} --help`:", "", "```text", text,
                  "```"]
    return "\n".join(lines) + "\n"


def commented_names(path: Path) -> list[tuple[str, str, str, str]]:
    """(section, constant, value, comment) of each string constant in a module of names:
    a section is the comment line above a group, a comment the one after a name."""
    source = path.read_text()
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
    found, section = [], ""
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            continue
        above = node.lineno - 1  # a comment on a line of its own above: a new section
        if above in comments and source.splitlines()[above - 1].startswith("#"):
            section = comments[above]
        for target in node.targets:
            if isinstance(target, ast.Name):
                found.append((section, target.id, node.value.value,
                              comments.get(node.lineno, "")))
    return found


def tracking_page(src: Path) -> str:
    """The tag names of seqlab.tracking.tagnames and the metric layout of
    seqlab.tracking.columns, the modules that own them."""
    tags = commented_names(src / "seqlab" / "tracking" / "tagnames.py")
    columns = commented_names(src / "seqlab" / "tracking" / "columns.py")
    lines = ["# MLflow tags and metrics", "",
             HEADER.format(source="`src/seqlab/tracking/tagnames.py` and `columns.py`",
                           maker="an edit of either module", it="it"),
             "Filter and group runs by these in the MLflow UI, e.g. "
             "`tags.archetype = 'many_to_one'`; a tag name with a dot needs backquotes: "
             "``tags.`model.cell` = 'gru'``. What a run records is described in "
             "[Runs](../concepts/runs.md).", "", "## Tags"]
    section = None
    for group, constant, value, note in tags:
        if group != section:
            section = group
            lines += ["", f"### {group or 'Other'}", "", "| tag | constant | note |",
                      "|---|---|---|"]
        lines.append(f"| `{value}` | `tagnames.{constant}` | {cell(note)} |")
    lines += ["", "## Metrics", "",
              "A run's MLflow metrics are its learning curves (`train/*`, `val/*`, `lr`), what "
              "chose its weights (`selected/<metric>`), its test headline and the strongest "
              "baseline's on it. Every other test figure goes to the table artifact named "
              "below, by the rule of `seqlab.tracking.columns.split_metrics`:", "",
              "| name | constant | note |", "|---|---|---|"]
    lines += [f"| `{value}` | `columns.{constant}` | {cell(note)} |"
              for _, constant, value, note in columns]
    lines += ["", "The patterns that name a part of the test split:", "",
              "| pattern | part |", "|---|---|"]
    patterns = ast.parse((src / "seqlab" / "tracking" / "columns.py").read_text())
    source = (src / "seqlab" / "tracking" / "columns.py").read_text().splitlines()
    for node in patterns.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "attr", "") == "compile"):
            pattern = node.value.args[0].value
            note = source[node.lineno - 1].partition("#")[2].strip()
            lines.append(f"| `{cell(pattern)}` | {cell(note)} |")
    lines += ["", "::: seqlab.tracking.columns.split_metrics", "    options:",
              "      show_root_heading: true", "      heading_level: 3", ""]
    return "\n".join(lines)


def tasks_page(src: Path) -> str:
    """The task registry (seqlab.tasks.TASKS): each task, what it is, its headline and
    the units it is judged in, read from the source without importing torch."""
    path = src / "seqlab" / "tasks.py"
    source = path.read_text()
    tree = ast.parse(source)
    constants = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
                 if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                 and isinstance(node.value, (ast.Constant, ast.Tuple))}
    registry = next(node.value for node in tree.body if isinstance(node, ast.AnnAssign)
                    and getattr(node.target, "id", "") == "TASKS")
    lines = ["# Tasks", "",
             HEADER.format(source="`TASKS` in `src/seqlab/tasks.py`",
                           maker="an edit of the registry", it="it"),
             "A dataset kind declares its task; the task names how its target is trained "
             "and scored ([Adding a task](../extending/task.md)).", "",
             "| task | what it is | headline | better | judged in |", "|---|---|---|---|---|"]
    text_lines = source.splitlines()
    for key, value in zip(registry.keys, registry.values, strict=True):
        keywords = {k.arg: k.value for k in value.keywords}
        above = text_lines[key.lineno - 2].strip()
        about = above.lstrip("#").strip() if above.startswith("#") else ""
        judged = keywords.get("judged_by")
        units = (constants.get(judged.id) if isinstance(judged, ast.Name)
                 else ast.literal_eval(judged) if judged else ())
        higher = ast.literal_eval(keywords["higher_is_better"])
        lines.append(f"| `{key.value}` | {cell(about)} "
                     f"| `{ast.literal_eval(keywords['headline'])}` "
                     f"| {'higher' if higher else 'lower'} "
                     f"| {', '.join(f'`{u}`' for u in units) or 'the headline'} |")
    return "\n".join(lines) + "\n"
