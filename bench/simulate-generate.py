"""Generates a WfCommons workflow instance for the simulator benchmark.

Runs in the project-local virtualenv that bench/simulate.ts creates
(.venv/wfcommons) with the `wfcommons` package's recipes.
"""

import argparse
import pathlib
import random

import numpy as np
from wfcommons import WorkflowGenerator
from wfcommons.wfchef.recipes import EpigenomicsRecipe, MontageRecipe

RECIPES = {"montage": MontageRecipe, "epigenomics": EpigenomicsRecipe}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="montage")
    parser.add_argument("--tasks", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    workflow = WorkflowGenerator(RECIPES[args.recipe].from_num_tasks(args.tasks)).build_workflow()
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_json(out)
    print(f"{out.name}: {len(workflow.nodes)} tasks, {len(workflow.edges)} edges ({args.recipe}, seed {args.seed})")


if __name__ == "__main__":
    main()
