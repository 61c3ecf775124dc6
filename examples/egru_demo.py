"""Event-based GRUs (EGRU) on the digital chip against a dense GRU of the same size:
accuracy, events, synaptic operations, memory and energy, and a sweep of the
activity regulariser. Writes results/egru/{table.txt,results.json,energy_vs_sparsity.png}.

    python examples/egru_demo.py [--task digits|evidence] [--epochs 12] [--out results/egru]
"""

import argparse

import torch

import pyNN.sparsehw as sim
from pyNN_sparsehw.training.egru.demo import run_demo


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="digits", choices=["digits", "evidence"])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--out", default="results/egru")
    args = parser.parse_args()
    torch.set_num_threads(1)
    summary = run_demo(sim, f"{args.out}/{args.task}", args.task, hidden=args.hidden,
                       epochs=args.epochs)
    print(open(f"{args.out}/{args.task}/table.txt").read())
    print(f"{summary['seconds']:.0f} s")


if __name__ == "__main__":
    main()
