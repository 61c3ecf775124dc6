"""`sparsehw report`: a saved hardware report as one self-contained HTML page; its
plots; the page rendered in headless Chromium."""

import base64
import html
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from matplotlib.image import imread

from pyNN_sparsehw.cli import commands as cli
from pyNN_sparsehw.report import plots
from pyNN_sparsehw.report.html import render_html, write_html

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")


def synthetic_report():
    """A report as `sparsehw run` writes it, on a 3 x 2 patch of a digital mesh,
    with the per-projection memory encodings and the energy estimate."""
    per_core = [dict(core=k, chip=0, x=x, y=y, neurons=1024 - 100 * k, synapses=5000 * (k + 1),
                     memory_bits=81920 * (k + 1), input_axons=100 + k)
                for k, (x, y) in enumerate([(0, 0), (1, 0), (2, 0), (2, 1), (1, 1)])]
    weights = dict(bits=8, unit="uS", scale=1.5e-4, clipped=2, zeroed=5,
                   rms_relative_error=0.0123)
    projections = [
        dict(label="exc->exc", pre="exc", post="exc", receptor="excitatory", synapses=20000,
             synaptic_events=123456, weights=weights,
             delays=dict(min_steps=2, max_steps=10, rms_relative_error=0.01),
             gain_sigma=None, wiring_cost=40000, mean_hops=2.0,
             memory=dict(encoding="bitmap", bits=163840,
                         alternatives={"dense": 2621440, "csr": 491520, "bitmap": 163840,
                                       "functional": None},
                         words_per_spike=2.5)),
        dict(label="exc->inh", pre="exc", post="inh", receptor="excitatory", synapses=5000,
             synaptic_events=2345, weights=dict(weights, clipped=0),
             delays=dict(min_steps=2, max_steps=2, rms_relative_error=0.0),
             gain_sigma=None, wiring_cost=5000, mean_hops=1.0,
             memory=dict(encoding="csr", bits=122880,
                         alternatives={"dense": 655360, "csr": 122880, "bitmap": 163840},
                         words_per_spike=1.0))]
    parameters = {"tau_m": dict(clipped=0, rms_relative_error=0.0021),
                  "v_thresh": dict(clipped=3, rms_relative_error=0.0,
                                   mismatch_sigma=1.9, mismatch_relative=False,
                                   noise_sigma=0.2)}
    return dict(
        chip=dict(name="digital", kind="digital", source="models/digital.toml",
                  hash="8d756cc1fcccc39a", seed=0),
        simulated_time_ms=1000.0,
        totals=dict(neurons=4000, synapses=25000, cores_used=5, wiring_cost=45000),
        cores=dict(used=5, available=4096,
                   limits=dict(neurons_per_core=1024, synaptic_memory_bits=1048576,
                               input_axons=4096, fan_in=0),
                   per_core=per_core),
        populations=[dict(label="exc", cell_type="IF_cond_exp", size=3200, circuit="lif",
                          cores=[0, 1, 2, 3], spikes=48000, mean_rate_hz=15.0,
                          parameters=parameters),
                     dict(label="inh", cell_type="IF_cond_exp", size=800, circuit="lif",
                          cores=[4], spikes=12000, mean_rate_hz=15.0, parameters={})],
        projections=projections,
        energy=dict(total_j=4e-6, per_second_w=4e-6,
                    by_category={"synaptic events": 2e-6, "neuron updates": 1e-6,
                                 "routing": 5e-7, "static": 5e-7},
                    populations={"exc": 8e-7, "inh": 2e-7},
                    projections={"exc->exc": 1.5e-6, "exc->inh": 5e-7}))


def embedded_pngs(page):
    return [base64.b64decode(data) for data in
            re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def table_rows(page):
    """The text of the cells of every table row of a page."""
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in
             re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", page)]


def ink(image):
    """Fraction of pixels that are not near-white."""
    return float(np.mean(image[..., :3].min(axis=-1) < 0.8))


# ------------------------------------------------------------------ plots
def test_mesh_grid_places_cores():
    grid = plots.mesh_grid(synthetic_report()["cores"]["per_core"], "input_axons")
    expected = np.array([[100, 101, 102], [np.nan, 104, 103]])
    np.testing.assert_array_equal(grid, expected)


def test_si_scale():
    assert plots.si_scale([4e-6]) == (1e6, "µJ")
    assert plots.si_scale([2.5, 0.1]) == (1.0, "J")
    assert plots.si_scale([3e-13]) == (1e15, "fJ")
    assert plots.si_scale([0.02], "W") == (1e3, "mW")


def test_plots_absent_without_data():
    report = synthetic_report()
    del report["energy"]
    for p in report["projections"]:
        del p["memory"]
    assert plots.energy_breakdown(report) is None
    assert plots.memory_by_encoding(report) is None
    assert plots.mesh_heatmap(dict(report, cores=dict(per_core=[]))) is None


# ------------------------------------------------------------------- page
def test_page_shows_the_calibration_status():
    report = synthetic_report()
    assert "calibration" not in [row[0] for row in table_rows(render_html(report))]
    report["chip"]["calibration"] = dict(calibrated=True, circuits=8192, usable_circuits=8053,
                                         failed_circuits=139, failures={})
    assert ["calibration", "8053 of 8192 circuits usable, 139 failed"] in \
        table_rows(render_html(report))
    report["chip"]["calibration"] = dict(calibrated=False)
    assert ["calibration", "uncalibrated (every trim at its middle code)"] in \
        table_rows(render_html(report))


def test_page_has_every_section_with_its_numbers():
    page = render_html(synthetic_report(), title="va")
    for heading in ("Resources per core", "Populations", "Memory per projection by encoding",
                    "Energy", "Quantization", "Mismatch", "Activity"):
        assert f"<h2>{heading}</h2>" in page
    rows = table_rows(page)
    assert ["exc->exc", "bitmap", "20.00",
            "dense: 320.00, csr: 60.00, bitmap: 20.00, functional: cannot hold it",
            "2.5"] in rows
    assert ["synaptic events", "2 µJ", "50.0 %"] in rows
    assert ["energy", "4 µJ (4 µW)"] in rows
    assert ["inh", "200 nJ", "5.0 %"] in rows
    assert ["exc", "v_thresh", "1.9 (abs.)", "0.2"] in rows
    assert ["exc->exc", "exc → exc", "20000", "8", "0.00015 uS", "2", "5", "1.23 %", "2–10",
            "1.00 %", "40000", "2"] in rows
    assert ["0", "0", "(0, 0)", "1024", "5000", "10.0", "100"] in rows
    assert ["exc", "IF_cond_exp", "lif", "3200", "0–3", "48000", "15"] in rows
    # self-contained: no external resource, no script
    assert not re.search(r'(src|href)="(?!data:)', page) and "<script" not in page
    pngs = embedded_pngs(page)
    assert len(pngs) == 3                          # mesh, memory, energy (no activity)
    for png in pngs:
        image = imread(io.BytesIO(png))
        assert image.shape[0] > 200 and image.shape[1] > 400 and ink(image) > 0.02


def test_page_without_memory_and_energy():
    report = synthetic_report()
    del report["energy"]
    for p in report["projections"]:
        del p["memory"]
    page = render_html(report)
    assert "not available: the report has no synaptic memory encodings" in page
    assert "not available: the report has no energy estimate" in page
    assert len(embedded_pngs(page)) == 1           # the mesh only


def test_write_html_embeds_rasters(tmp_path, capsys):
    (tmp_path / "hardware_report.json").write_text(json.dumps(synthetic_report()))
    figure = plots.rasters({"sparsehw": []})
    assert figure is None
    from pyNN_sparsehw.report.spiketrains import PopulationSpikes
    spikes = PopulationSpikes("exc", 10, np.arange(10), np.arange(10), np.linspace(1, 90, 10),
                              0.0, 100.0)
    plots.save_png(plots.rasters({"sparsehw": [spikes]}), tmp_path / "rasters.png")
    assert cli.main(["report", str(tmp_path)]) == 0
    assert f"report written to {tmp_path / 'report.html'}" in capsys.readouterr().out
    page = (tmp_path / "report.html").read_text()
    assert len(embedded_pngs(page)) == 4
    assert embedded_pngs(page)[-1] == (tmp_path / "rasters.png").read_bytes()
    assert write_html(tmp_path / "hardware_report.json", tmp_path / "other.html") == \
        tmp_path / "other.html"


# ----------------------------------------------------------- in a browser
def chromium():
    for candidate in CHROMIUM_CANDIDATES:
        path = shutil.which(candidate)
        if path:
            return path
    pytest.skip("Chromium is not installed (Debian: apt-get install -y chromium; .ci/run "
                "installs it): the HTML report cannot be checked in a browser")


def run_chromium(browser, profile, *arguments):
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
               *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


IMAGE_CHECK = """<script>
window.addEventListener("load", function () {
  var images = document.images, decoded = 0;
  for (var i = 0; i < images.length; i++)
    if (images[i].complete && images[i].naturalWidth > 0 && images[i].naturalHeight > 0)
      decoded++;
  var marker = document.createElement("p");
  marker.id = "image-check";
  marker.textContent = "images " + images.length + " decoded " + decoded;
  document.body.appendChild(marker);
});
</script></body>"""


def test_report_renders_in_chromium(tmp_path):
    browser = chromium()
    (tmp_path / "hardware_report.json").write_text(json.dumps(synthetic_report()))
    page_path = write_html(tmp_path)
    page = page_path.read_text()
    expected = len(embedded_pngs(page))
    checked = tmp_path / "checked.html"
    checked.write_text(page.replace("</body>", IMAGE_CHECK))
    dom = run_chromium(browser, tmp_path / "profile", "--dump-dom", checked.as_uri())
    marker = re.search(r'id="image-check">images (\d+) decoded (\d+)<', dom.stdout)
    assert marker, f"no image check in the DOM Chromium dumped: {dom.stderr[-2000:]}"
    assert (int(marker.group(1)), int(marker.group(2))) == (expected, expected)
    assert expected == 3
    shot = tmp_path / "page.png"
    run_chromium(browser, tmp_path / "profile", f"--screenshot={shot}",
                 "--window-size=1280,3000", page_path.as_uri())
    image = imread(shot)
    assert image.shape[:2] == (3000, 1280)
    assert ink(image) > 0.05, "the screenshot of the report is (nearly) blank"
    # the heat map's colours are on the page: pixels far from grey
    rgb = image[..., :3]
    assert np.mean(rgb.max(axis=-1) - rgb.min(axis=-1) > 0.3) > 0.005
