"""Opening, planning and applying the Feast repo with the settings' environment.

Feast substitutes `${VAR}` in `feature_store.yaml` from `os.environ` and the repo's definitions
read their paths from it too, so the derived variables are exported into this process before
Feast is touched. This is the one place that writes the environment.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import yaml  # type: ignore[import-untyped]
from feast import FeatureStore
from feast.repo_config import RepoConfig

from featurebank.errors import DependencyUnavailable, FeatureBankError, InvalidInput
from featurebank.settings import Settings


def export_feast_environment(settings: Settings) -> dict[str, str]:
    """Make `feature_store.yaml` and the definitions see the settings; returns what was set."""
    env = settings.feast_environment()
    os.environ.update(env)
    return env


def repo_yaml(settings: Settings) -> Path:
    path = settings.repo_path / "feature_store.yaml"
    if not path.is_file():
        raise InvalidInput(
            f"no feature_store.yaml in {settings.repo_path}; "
            "set FEATUREBANK_REPO to the directory of your Feast repo"
        )
    return path


def load_repo_config(settings: Settings) -> RepoConfig:
    """The repo's configuration; a file Feast cannot use is bad input naming the file."""
    from feast.errors import FeastError
    from feast.repo_config import FeastConfigError
    from feast.repo_config import load_repo_config as feast_load

    export_feast_environment(settings)
    path = repo_yaml(settings)
    try:
        return feast_load(settings.repo_path, path)
    except (yaml.YAMLError, FeastConfigError, FeastError, TypeError, ValueError) as exc:
        # TypeError: an empty file or one that is not a mapping; the rest are Feast's own.
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InvalidInput(f"{path} is not a valid Feast configuration: {reason[:400]}",
                           detail={"file": str(path)}) from None


def open_store(settings: Settings) -> FeatureStore:
    """A `FeatureStore` on the configured repo; the registry must have been applied."""
    config = load_repo_config(settings)
    store = FeatureStore(repo_path=str(settings.repo_path), config=config)
    registry_path = _local_registry_path(config)
    if registry_path is not None and not registry_path.exists():
        raise DependencyUnavailable(
            f"the registry {registry_path} does not exist yet; run `featurebank apply` first"
        )
    return store


def _local_registry_path(config: RepoConfig) -> Path | None:
    registry = config.registry
    path = getattr(registry, "path", None)
    registry_type = getattr(registry, "registry_type", "file")
    if registry_type != "file" or not path or "://" in str(path):
        return None
    resolved = Path(path)
    if not resolved.is_absolute():
        resolved = Path(config.repo_path or ".") / resolved
    return resolved


_APPLY_LOCK = threading.Lock()


@contextmanager
def _repo_imports(repo_path: Path) -> Iterator[None]:
    """Let Feast import the repo's modules, then forget them.

    Feast imports definitions by bare module name and changes the working directory; both
    would leak into (and go stale in) a long-lived process, so they are restored afterwards.
    """
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    cwd = os.getcwd()
    sys.path.insert(0, str(repo_path))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.path[:] = saved_path
        root = str(repo_path)
        for name in set(sys.modules) - saved_modules:
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if module_file.startswith(root):
                del sys.modules[name]


def _run_feast(settings: Settings, action: str) -> str:
    from feast.repo_operations import apply_total, plan

    config = load_repo_config(settings)
    registry_path = _local_registry_path(config)
    if registry_path is not None:
        registry_path.parent.mkdir(parents=True, exist_ok=True)
    printed = io.StringIO()
    with _APPLY_LOCK, _repo_imports(settings.repo_path), redirect_stdout(printed):
        try:
            if action == "apply":
                apply_total(config, settings.repo_path, True)
            else:
                plan(config, settings.repo_path, skip_source_validation=True)
        except SystemExit as exc:
            raise InvalidInput(f"feast {action} stopped on {settings.repo_path}: "
                               f"{printed.getvalue().strip()[-500:]}") from exc
        except FeatureBankError:
            raise
        except Exception as exc:  # errors in user definitions: report them as bad input
            raise InvalidInput(
                f"feast {action} failed for {settings.repo_path}: {type(exc).__name__}: {exc}"
            ) from exc
    return printed.getvalue()


def apply_repo(settings: Settings) -> str:
    """Register the repo's definitions, exactly as `feast apply` does; returns its output."""
    return _run_feast(settings, "apply")


def plan_repo(settings: Settings) -> str:
    """What `apply` would change, as `feast plan` prints it."""
    return _run_feast(settings, "plan")
