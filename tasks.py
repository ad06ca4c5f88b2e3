"""This repository's tasks: devdb's own collection plus the project's development tasks."""

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from devdb.tasks import ns


@task(help={"fix": "let ruff fix what it can"})
def check(c: Context, fix: bool = False) -> None:
    """Run what CI runs: ruff, mypy and the test suite."""
    c.run(f"ruff check {'--fix ' if fix else ''}devdb tests bench tasks.py")
    c.run("ruff format --check devdb tests bench tasks.py")
    c.run("mypy")
    c.run("pytest -n 2")


ns.add_collection(Collection("dev", check))
namespace = ns
