"""What README and the recipes' docstrings tell a user to type is accepted by the code."""

import importlib
import inspect
import re
import shlex

import pytest

from kgen import cli, config, runs

from helpers.processes import ROOT

COMMAND = re.compile(r"python -m kgen\.recipes\.([a-z_]+)((?: --[^\s`#()]+)*)")


def documented_commands():
    texts = [("README.md", (ROOT / "README.md").read_text())]
    texts += [(p.name, p.read_text()) for p in sorted((ROOT / "recipes").glob("*.py"))]
    found = []
    for where, text in texts:
        for name, options in COMMAND.findall(text):
            if name != "optimizer_study":  # a study with options of its own, tested in test_study
                found.append((where, name, options.strip()))
    return found


@pytest.mark.parametrize("where,name,options", documented_commands())
def test_every_documented_recipe_command_parses(where, name, options):
    module = importlib.import_module(f"kgen.recipes.{name}")
    actions, overrides = cli.split_actions(shlex.split(options))
    if actions.resume or actions.help:
        return  # needs a run to resume / prints and exits: the options are checked by their own tests
    first = getattr(module, "AUTOENCODER", None)  # a two-stage recipe: --autoencoder.<key> is the first stage's
    if first is not None:
        first_overrides, overrides = cli.split_stages(overrides)
        runs.resolve(first, first_overrides, actions.quick)
    runs.resolve(module.RECIPE, overrides, actions.quick)


def test_documented_commands_were_found():
    assert len(documented_commands()) > 20


def test_the_gaussian_scale_is_learned_with_none_as_readme_says():
    from kgen.recipes import mnist_vae

    assert "`--model.likelihood_scale`, or `none` to learn it" in (ROOT / "README.md").read_text()
    assert config.apply_overrides(mnist_vae.RECIPE, {"model.likelihood_scale": "none"}).model.likelihood_scale is None
    with pytest.raises(config.ConfigError, match="likelihood_scale"):
        config.apply_overrides(mnist_vae.RECIPE, {"model.likelihood_scale": "0"})


def model_classes():
    import kgen.models  # noqa: F401 - imports every family
    from kgen.models.base import GenerativeModel

    out, todo = [], [GenerativeModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("kgen.") and "Args:" in (sub.__doc__ or ""):
                out.append(sub)
    return sorted(set(out), key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", model_classes(), ids=lambda c: c.__name__)
def test_model_docstrings_name_the_constructors_arguments(cls):
    """Every name a model's `Args:` section documents is a constructor argument (a docstring that
    says `schedule: a NoiseSchedule` beside a constructor taking `schedule_kind="linear"` fails)."""
    params = set(inspect.signature(cls.__init__).parameters)
    args = cls.__doc__.split("Args:")[1].split("\n\n")[0]
    names = [n.strip() for line in args.splitlines() if re.match(r"^\s{8}\w[\w, ]*:", line)
             for n in line.split(":")[0].split(",")]
    assert names and set(names) <= params, set(names) - params


def test_readme_layout_names_every_module_and_folder():
    """README's layout section is the map a contributor reads first: each kgen module, each
    package, each benchmark script and each top-level folder appears in it by name."""
    layout = (ROOT / "README.md").read_text().split("## Layout", 1)[1].split("\n## ", 1)[0]
    wanted = [f"kgen/{p.name}" for p in sorted((ROOT / "kgen").glob("*.py")) if p.name != "__init__.py"]
    wanted += [f"kgen/{p.name}/" for p in sorted((ROOT / "kgen").iterdir())
               if p.is_dir() and not p.is_symlink() and (p / "__init__.py").exists()]
    wanted += [p.name for p in sorted((ROOT / "benchmarks").glob("*.py"))]
    wanted += ["recipes/", "benchmarks/", "scripts/", "tests/", "tests/helpers/"]
    missing = [name for name in wanted if name not in layout]
    assert not missing, f"README's layout section does not mention {missing}"
