"""Developer sessions: ``nox -s tests lint docs examples benchmarks``; ``gpu`` on a GPU host."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (what CI runs)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (style, imports, banned APIs) and mypy (strict on src/)."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "src", "tests", "benchmarks", "examples", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "benchmarks", "examples", "noxfile.py")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the Sphinx docs with warnings as errors."""
    session.install("-e", ".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session
def examples(session: nox.Session) -> None:
    """Run every example script."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/test_examples.py", "tests/agc/test_example.py", *session.posargs)


@nox.session
def benchmarks(session: nox.Session) -> None:
    """Run the benchmarks; results go to benchmarks/results/*.json."""
    session.install("-e", ".[all,test]")
    session.run("python", "benchmarks/bench_read.py", *session.posargs)
    session.run("python", "benchmarks/bench_generate.py")
    session.run("python", "benchmarks/bench_kernels.py")
    session.run("python", "benchmarks/bench_agc.py", "--rdataframe")
    session.run("python", "benchmarks/bench_executors.py")


@nox.session
def gpu(session: nox.Session) -> None:
    """GPU-marked tests (on a CUDA machine)."""
    session.install("-e", ".[test,cuda]")
    session.run("pytest", "-m", "gpu", "--run-gpu", *session.posargs)
    session.run("python", "benchmarks/bench_gpu.py", "--fileset", "agc-data/fileset.json")
