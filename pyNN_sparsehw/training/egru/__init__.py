"""Event-based GRUs (EGRU, Subramoney et al. 2023): the cell and its training in torch
(:mod:`.cell`), sparsity and operation counts (:mod:`.sparsity`)."""

from .cell import (EGRU, EGRUParameters, EGRUState, EGRUStep, EventFunction,
                   activity_regulariser, egru_initial_state, egru_step, egru_update,
                   gate_inputs, pseudo_derivative)
from .sparsity import EGRUOperations, count_operations

__all__ = ["EGRU", "EGRUParameters", "EGRUState", "EGRUStep", "EventFunction",
           "activity_regulariser", "egru_initial_state", "egru_step", "egru_update",
           "gate_inputs", "pseudo_derivative", "EGRUOperations", "count_operations"]
