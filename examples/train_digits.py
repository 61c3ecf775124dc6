"""Hardware-in-the-loop training of the 8x8 digits on a modelled chip.

    python examples/train_digits.py --chip analog --chip-seed 0 1 --iterations 30 --out results/train_digits

Trains a 64-100-10 network of LIF neurons in the chip's differentiable twin (torch),
deploys it to the chip (6-bit weights, frozen mismatch, uncalibrated; a
calibrated stage too when the backend has calibration), trains it with the chip in
the loop, and prints the final table. See pyNN_sparsehw/training/demo.py for every
option (--help).
"""

import sys

from pyNN_sparsehw.training.demo import main

if __name__ == "__main__":
    sys.exit(main())
