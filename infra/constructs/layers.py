"""Lambda layers: ``shared`` (reelstack_common) and ``deps`` (third-party packages, Docker-free build)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_LAYER_DIR = REPO_ROOT / "layers" / "shared"
DEPS_DIR = REPO_ROOT / "layers" / "deps"
DEPS_REQUIREMENTS = DEPS_DIR / "requirements.txt"

# Must match service.PYTHON_RUNTIME: the wheels are chosen for this interpreter and platform.
DEPS_PYTHON_VERSION = "3.12"
DEPS_PLATFORM = "manylinux2014_x86_64"


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


class Layers(Construct):
    """Attributes other code uses:

    shared: the ``reelstack_common`` layer (``layers/shared/python/reelstack_common``)
    deps: third-party packages from ``layers/deps/requirements.txt``
    all: [deps, shared] — pass to ``ServiceApi(layers=...)``
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        runtimes = [lambda_.Runtime.PYTHON_3_12]
        self.shared = lambda_.LayerVersion(
            self,
            "Shared",
            description="reelstack_common: HTTP edge helpers, errors, auth, cache-aware DynamoDB access",
            code=lambda_.Code.from_asset(str(SHARED_LAYER_DIR), exclude=["**/__pycache__", "**/*.pyc"]),
            compatible_runtimes=runtimes,
            compatible_architectures=[lambda_.Architecture.X86_64],
        )
        self.deps = lambda_.LayerVersion(
            self,
            "Deps",
            description="Third-party runtime packages (Powertools, pydantic, pyjwt, amazon-dax-client)",
            code=lambda_.Code.from_asset(
                str(DEPS_DIR),
                bundling=BundlingOptions(
                    # Never pulled: local bundling always succeeds or raises. CDK requires an image.
                    image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"),
                    local=PipLocalBundling(DEPS_REQUIREMENTS, DEPS_PYTHON_VERSION, DEPS_PLATFORM),
                ),
            ),
            compatible_runtimes=runtimes,
            compatible_architectures=[lambda_.Architecture.X86_64],
        )
        self.all: list[lambda_.ILayerVersion] = [self.deps, self.shared]
