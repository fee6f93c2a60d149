"""Lambda layers, all built without Docker: ``shared`` (reelstack_common), ``deps`` (third-party
packages for the services) and ``ffmpeg`` (a static ffmpeg for the transcode steps)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_LAYER_DIR = REPO_ROOT / "layers" / "shared"
DEPS_DIR = REPO_ROOT / "layers" / "deps"
DEPS_REQUIREMENTS = DEPS_DIR / "requirements.txt"
PYDANTIC_DIR = REPO_ROOT / "layers" / "pydantic"
SEARCH_DIR = REPO_ROOT / "layers" / "search"
FFMPEG_LAYER_DIR = REPO_ROOT / "layers" / "ffmpeg"

# One runtime for every function and for the deps layer's wheels, chosen for this interpreter.
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_12
DEPS_PYTHON_VERSION = PYTHON_RUNTIME.name.removeprefix("python")
# What never ships in a code asset (functions and the shared layer): caches, and tests. mypy's cache
# also changes while `make lint` runs, and a synth copying it at that moment failed (ENOENT).
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.mypy_cache", "**/.ruff_cache", "**/tests"]
DEPS_PLATFORM = "manylinux2014_x86_64"
# CDK requires a bundling image even for local bundling; see _local_only.
_UNUSED_BUNDLING_IMAGE = f"public.ecr.aws/sam/build-{PYTHON_RUNTIME.name}"


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Build ``<out>/python`` with pip for the Lambda platform, without Docker.

    Two steps, because some pinned packages (amazon-dax-client and its antlr4 runtime) are published
    only as source distributions, and pip refuses sdists when ``--platform`` is given:
      1. ``pip wheel`` builds every requirement (and transitive dependency) into a wheelhouse with
         the host interpreter. Pure-Python sdists become ``py3-none-any`` wheels, valid anywhere;
         host-specific binary wheels it fetches are simply ignored by step 2.
      2. ``pip install --platform manylinux2014_x86_64 --python-version 3.12 --only-binary=:all:
         --find-links <wheelhouse>`` picks the Lambda-compatible binaries from PyPI and the
         pure wheels from the wheelhouse.
    """

    def __init__(self, requirements: Path, python_version: str, platform: str) -> None:
        self._requirements = requirements
        self._python_version = python_version
        self._platform = platform

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:  # noqa: ARG002
        target = Path(output_dir) / "python"
        target.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
        with tempfile.TemporaryDirectory(prefix="reelstack-wheels-") as wheelhouse:
            subprocess.run(
                [*pip, "wheel", "--quiet", "-r", str(self._requirements), "--wheel-dir", wheelhouse],
                check=True,
            )
            subprocess.run(
                [
                    *pip,
                    "install",
                    "--quiet",
                    "-r",
                    str(self._requirements),
                    "--target",
                    str(target),
                    "--platform",
                    self._platform,
                    "--python-version",
                    self._python_version,
                    "--implementation",
                    "cp",
                    "--only-binary=:all:",
                    "--find-links",
                    wheelhouse,
                    "--upgrade",
                ],
                check=True,
            )
        # Bytecode and pip metadata caches are dead weight in a layer (250 MB unzipped limit).
        for cache in target.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        return True


@jsii.implements(ILocalBundling)
class FfmpegLocalBundling:
    """Runs ``layers/ffmpeg/build.py``'s ``build(out_dir)`` in-process: it places the static ffmpeg
    (imageio-ffmpeg) at ``<out_dir>/bin/ffmpeg``, which Lambda mounts as ``/opt/bin/ffmpeg``."""

    def __init__(self, build_script: Path) -> None:
        self._build_script = build_script

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:  # noqa: ARG002
        spec = importlib.util.spec_from_file_location("reelstack_ffmpeg_layer_build", self._build_script)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {self._build_script}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.build(output_dir)
        if not (Path(output_dir) / "bin" / "ffmpeg").is_file():
            raise RuntimeError(f"{self._build_script} did not produce bin/ffmpeg in {output_dir}")
        return True


class Layers(Construct):
    """Attributes other code uses:

    shared: the ``reelstack_common`` layer (``layers/shared/python/reelstack_common``)
    deps: third-party packages from ``layers/deps/requirements.txt``
    all: [deps, shared] — pass to ``ServiceApi(layers=...)``
    ffmpeg: static ffmpeg at ``/opt/bin/ffmpeg`` (173 MB of Lambda's 250 MB for function + layers,
        unzipped, so it does not fit beside ``deps``)
    pydantic: pydantic alone (~10 MB), for the transcode steps' payload models; with ``ffmpeg`` it
        is all those functions get
    search: opensearch-py (and requests) for the search functions only, beside ``all``
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.shared = self._layer(
            "Shared",
            "reelstack_common: HTTP edge helpers, errors, auth, cache-aware DynamoDB access",
            lambda_.Code.from_asset(str(SHARED_LAYER_DIR), exclude=ASSET_EXCLUDES),
        )
        self.deps = self._layer(
            "Deps",
            "Third-party runtime packages (Powertools, pydantic, pyjwt, amazon-dax-client)",
            lambda_.Code.from_asset(
                str(DEPS_DIR),
                bundling=_local_only(PipLocalBundling(DEPS_REQUIREMENTS, DEPS_PYTHON_VERSION, DEPS_PLATFORM)),
            ),
        )
        self.all: list[lambda_.ILayerVersion] = [self.deps, self.shared]
        self.pydantic = self._layer(
            "Pydantic",
            "pydantic only: the transcode steps' payload models (beside the ffmpeg layer)",
            lambda_.Code.from_asset(
                str(PYDANTIC_DIR),
                bundling=_local_only(
                    PipLocalBundling(PYDANTIC_DIR / "requirements.txt", DEPS_PYTHON_VERSION, DEPS_PLATFORM)
                ),
            ),
        )
        self.search = self._layer(
            "Search",
            "opensearch-py: the search service's engine client",
            lambda_.Code.from_asset(
                str(SEARCH_DIR),
                bundling=_local_only(
                    PipLocalBundling(SEARCH_DIR / "requirements.txt", DEPS_PYTHON_VERSION, DEPS_PLATFORM)
                ),
            ),
        )
        self.ffmpeg = self._layer(
            "Ffmpeg",
            "Static ffmpeg (imageio-ffmpeg) at /opt/bin/ffmpeg",
            lambda_.Code.from_asset(
                str(FFMPEG_LAYER_DIR),
                # Hash the build recipe, not the 170 MB output: an unchanged build.py reuses the
                # staged asset instead of re-running the build on every synth.
                asset_hash_type=AssetHashType.SOURCE,
                exclude=["**/__pycache__", "**/*.pyc", "**/.cache", "**/tests"],
                bundling=_local_only(FfmpegLocalBundling(FFMPEG_LAYER_DIR / "build.py")),
            ),
        )

    def _layer(self, construct_id: str, description: str, code: lambda_.Code) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            construct_id,
            description=description,
            code=code,
            compatible_runtimes=[PYTHON_RUNTIME],
            compatible_architectures=[lambda_.Architecture.X86_64],
        )


def _local_only(local: ILocalBundling) -> BundlingOptions:
    """Docker-free bundling: ``local`` either succeeds or raises; the image CDK requires is never pulled."""
    return BundlingOptions(image=DockerImage.from_registry(_UNUSED_BUNDLING_IMAGE), local=local)
