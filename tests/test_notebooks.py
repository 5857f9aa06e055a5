"""The notebooks run top to bottom, in quick mode, in a kernel of this environment's Python,
and write only into their results/ folder.

Each notebook is executed with nbclient in a fresh temporary working directory,
with ``ESCALATION_SIM_QUICK=1`` (tiny run counts and horizons) and
``ESCALATION_SIM_SCENARIOS`` pointing at the repository's scenarios. The kernel
is a temporary kernelspec whose command is this interpreter, so the notebooks
import the package under test, not whatever ``python`` is first on the PATH.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "escalation-sim-tests"
EXPECTED = [
    "01_quickstart",
    "02_compare_rule_sets",
    "03_write_your_own_rule_set",
    "04_sweep_and_sensitivity",
    "05_robustness",
    "06_play_a_game",
]


@pytest.fixture(scope="module")
def jupyter_path(tmp_path_factory) -> Path:
    """A Jupyter data folder holding one kernelspec: this interpreter running ipykernel."""
    data = tmp_path_factory.mktemp("jupyter")
    spec = data / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "escalation-sim tests", "language": "python"})
    )
    return data


def test_every_notebook_is_here():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    # Written for a reader: explanations between the code cells.
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= len(code) // 2
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


@pytest.mark.slow  # a kernel per notebook: about 10 s each
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, jupyter_path, tmp_path, monkeypatch):
    monkeypatch.setenv(
        "JUPYTER_PATH", os.pathsep.join([str(jupyter_path), os.environ.get("JUPYTER_PATH", "")])
    )
    monkeypatch.setenv("ESCALATION_SIM_QUICK", "1")
    monkeypatch.setenv("ESCALATION_SIM_SCENARIOS", str(ROOT / "scenarios"))
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    client = nbclient.NotebookClient(
        nb, kernel_name=KERNEL, timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error

    # The working directory is where the notebook lives for a user (notebooks/): outputs
    # go to its results/ folder, which git ignores, and nowhere else in the repository.
    written = [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()]
    assert [str(p) for p in written if p.parts[0] != "results"] == []

    assert nb.cells[0].outputs[0]["text"].strip() == sys.executable
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    stderr = [o["text"] for o in outputs if o.get("name") == "stderr"]
    assert not stderr, f"{path.name} wrote to standard error:\n" + "\n".join(stderr)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} showed no figure"
