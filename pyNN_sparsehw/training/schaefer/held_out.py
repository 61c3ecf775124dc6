"""Out-of-sample test of the energy model fitted to Schaefer et al.'s table.

:func:`pyNN_sparsehw.chip.energy_fit.fit_pass_energies` is fitted on the published rows
of one layer only (e.g. 700 -> 400) and predicts the rows of the other layer, which
the fit never saw; the errors of those predictions sit beside the in-sample residuals
of the fit to every row.
"""

from dataclasses import dataclass

import numpy as np

from ...chip import energy_fit


@dataclass
class HeldOutResult:
    """`fitted_rows` and `predicted_rows` (LayerPass lists), the fit made on the
    fitted rows only, and the relative error (model / published - 1) per pass of the
    fitted rows (in-sample) and of the predicted rows (out of sample)."""
    fitted_rows: list
    predicted_rows: list
    fit: energy_fit.PassEnergyFit
    in_sample: dict
    out_of_sample: dict

    def rms(self, which, direction):
        """RMS relative error of `which` ("in_sample" or "out_of_sample") rows."""
        return float(np.sqrt(np.mean(np.square(getattr(self, which)[direction]))))


def relative_errors(fit, rows):
    """{pass: array of model / published - 1} of `rows`."""
    return {direction: np.array([fit.predict(row, direction) / getattr(row, direction) - 1.0
                                 for row in rows]) for direction in energy_fit.PASSES}


def fit_one_layer(rows, fitted_out_length, **fit_options):
    """Fit on the rows whose layer has `fitted_out_length` outputs, predict the others."""
    fitted = [row for row in rows if row.n_out == fitted_out_length]
    predicted = [row for row in rows if row.n_out != fitted_out_length]
    if not fitted or not predicted:
        lengths = sorted({row.n_out for row in rows})
        raise ValueError(f"fitted_out_length {fitted_out_length} must split the rows into two "
                         f"non-empty sets; the rows' layers have {lengths} outputs")
    fit = energy_fit.fit_pass_energies(fitted, **fit_options)
    return HeldOutResult(fitted, predicted, fit, relative_errors(fit, fitted),
                         relative_errors(fit, predicted))
