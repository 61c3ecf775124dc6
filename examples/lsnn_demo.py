"""LSNN demo (make lsnn-demo): see pyNN_sparsehw.training.recurrent.demo."""

from pyNN_sparsehw.training.recurrent.demo import main

if __name__ == "__main__":
    main()
