"""DEEP R (pyNN_sparsehw.training.deep_r) against its definition (Bellec et al. 2018):
the budget, the fixed signs, dormant synapses, the closed-form shrink and noise, plain
gradient descent when both are off, and a planted sparse solution that rewiring finds
and a fixed random mask does not."""

import math

import pytest

torch = pytest.importorskip("torch")

from pyNN_sparsehw.training.deep_r import DeepR, DeepRError  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: a second torch thread only waits on a loaded machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def parameters(*shapes, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(*shape, generator=generator)) for shape in shapes]


def random_loss(params, generator):
    """A loss whose gradient pushes weights both ways, new at every step."""
    x = torch.randn(16, params[0].shape[0], generator=generator)
    target = torch.randn(16, params[-1].shape[1], generator=generator)
    for p in params:
        x = torch.tanh(x @ p)
    return ((x - target) ** 2).mean()


def test_budget_is_kept_signs_never_flip_and_dormant_weights_are_zero():
    params = parameters((20, 30), (30, 5))
    signs0 = [torch.sign(p.detach()).clone() for p in params]
    optimizer = torch.optim.Adam(params, lr=0.05)
    rewiring = DeepR(params, fraction=0.1, l1=1e-3, temperature=1e-4, lr=0.05, seed=1,
                     optimizer=optimizer)
    budget = round(0.1 * (600 + 150))
    assert rewiring.n_active == budget == 75
    generator = torch.Generator().manual_seed(2)
    moved = 0
    for _ in range(150):
        optimizer.zero_grad()
        random_loss(params, generator).backward()
        optimizer.step()
        before = [m.clone() for m in rewiring.masks]
        rewiring.after_step()
        moved += rewiring.rewired
        assert rewiring.n_active == budget
        for p, sign, mask, old in zip(params, signs0, rewiring.masks, before):
            w = p.detach()
            assert torch.all(w * sign >= 0)                 # never the other sign
            assert torch.all(w[~mask] == 0)                 # dormant: exactly 0
    assert moved > 20                                       # it did rewire
    # the global budget lets connections move between the two parameters
    assert set(rewiring.active) == {"0", "1"}


def test_per_tensor_budgets_and_the_initial_choice():
    params = parameters((10, 10), (10, 4))
    with torch.no_grad():
        params[1][:] = 0.0
        params[1][0, 0] = 0.5                             # one synapse only
    rewiring = DeepR(params, connections=[30, 8], scope="tensor", temperature=1e-3, lr=0.1,
                     seed=3)
    assert rewiring.active == {"0": 30, "1": 8}
    # the 30 of the first were chosen among its nonzero weights, the kept one of the
    # second stays, and 7 new ones start at weight 0
    assert float(params[1].detach()[0, 0]) == 0.5
    assert int((params[1] != 0).sum()) == 1
    for _ in range(50):
        rewiring.after_step()
        assert rewiring.active == {"0": 30, "1": 8}


def test_dormant_synapses_get_no_gradient():
    (w,) = parameters((12, 6))
    rewiring = DeepR({"w": w}, connections=10)
    x = torch.randn(5, 12)
    (x @ w).pow(2).sum().backward()
    mask = rewiring.masks[0]
    assert torch.all(w.grad[~mask] == 0)
    assert torch.count_nonzero(w.grad[mask]) == 10
    rewiring.remove()
    w.grad = None
    (x @ w).pow(2).sum().backward()
    assert torch.count_nonzero(w.grad) > 10              # the mask is gone


def test_shrink_and_noise_have_their_closed_form_sizes():
    (w,) = parameters((100, 100))
    with torch.no_grad():
        w.copy_(torch.sign(w) * 10.0)                     # far from 0: nobody goes dormant
    lr, l1 = 0.01, 0.5
    rewiring = DeepR([w], fraction=1.0, l1=l1, lr=lr)
    for _ in range(4):
        rewiring.after_step()
    theta = (w.detach() * rewiring.signs[0])
    assert torch.allclose(theta, torch.full_like(theta, 10.0 - 4 * lr * l1), atol=1e-5)
    temperature = 0.02
    noisy = DeepR([w], fraction=1.0, temperature=temperature, lr=lr, seed=4)
    start = w.detach().clone()
    noisy.after_step()
    steps = (w.detach() - start) * noisy.signs[0]
    expected = math.sqrt(2 * lr * temperature)
    assert abs(float(steps.std()) / expected - 1) < 0.03      # 10^4 draws: 0.7 % error
    assert abs(float(steps.mean())) < 4 * expected / 100


def test_without_noise_and_shrink_it_is_gradient_descent_on_the_active_set():
    """0.5 |W - W*|^2 with W* of the synapses' signs: SGD with DEEP R follows plain
    gradient descent restricted to the initial connections, step for step."""
    generator = torch.Generator().manual_seed(5)
    target = torch.randn(8, 6, generator=generator)
    init = torch.sign(target) * 0.01 * torch.rand(8, 6, generator=generator)
    w = torch.nn.Parameter(init.clone())
    optimizer = torch.optim.SGD([w], lr=0.1)
    rewiring = DeepR([w], connections=20, lr=0.1, seed=6)
    mask = rewiring.masks[0].clone()
    reference = init * mask
    for _ in range(100):
        optimizer.zero_grad()
        (0.5 * (w - target).pow(2).sum()).backward()
        optimizer.step()
        rewiring.after_step()
        reference = reference - 0.1 * (reference - target) * mask
        assert rewiring.rewired == 0
        assert torch.allclose(w.detach(), reference, atol=1e-6)
    assert torch.allclose(w.detach()[mask], target[mask], atol=1e-4)   # converged
    assert torch.all(w.detach()[~mask] == 0)


def test_rewiring_finds_a_planted_sparse_solution_that_a_fixed_mask_does_not():
    """A linear teacher Y = X W* with 10 % nonzero weights, of each input's sign (Dale):
    DEEP R with a budget of exactly that many synapses recovers the teacher's support
    (700 steps with the L1 shrink and noise, then 300 without, to remove the shrink's
    bias); a fixed random mask of the same size keeps most of the error."""
    generator = torch.Generator().manual_seed(8)
    n_in, n_out, n_support = 60, 10, 60
    input_sign = torch.where(torch.rand(n_in, 1, generator=generator) < 0.7, 1.0, -1.0)
    signs = input_sign.expand(n_in, n_out).clone()
    support = torch.zeros(n_in * n_out, dtype=torch.bool)
    support[torch.randperm(n_in * n_out, generator=generator)[:n_support]] = True
    support = support.reshape(n_in, n_out)
    teacher = signs * (0.5 + torch.rand(n_in, n_out, generator=generator)) * support
    x = torch.randn(400, n_in, generator=generator)
    y = x @ teacher

    def train(rewire):
        w = torch.nn.Parameter(signs * 0.01 * torch.rand(n_in, n_out, generator=generator))
        optimizer = torch.optim.SGD([w], lr=0.05)
        rewiring = DeepR([w], connections=n_support, signs=[signs], lr=0.05, seed=9,
                         l1=0.05, temperature=1e-5)
        for step in range(1000):
            if step == 700:
                rewiring.l1 = rewiring.temperature = 0.0
            optimizer.zero_grad()
            ((x @ w - y) ** 2).mean().backward()
            optimizer.step()
            if rewire:
                rewiring.after_step()
        with torch.no_grad():
            error = float(((x @ w - y) ** 2).mean() / (y ** 2).mean())
        found = float((rewiring.masks[0] & support).sum()) / n_support
        return error, found

    rewired_error, rewired_found = train(rewire=True)
    fixed_error, fixed_found = train(rewire=False)
    assert rewired_found >= 0.95
    assert rewired_error < 0.05
    assert fixed_found < 0.3 and fixed_error > 0.5


def test_optimizer_state_is_cleared_where_synapses_are_rewired():
    (w,) = parameters((10, 10))
    optimizer = torch.optim.Adam([w], lr=0.5)
    rewiring = DeepR([w], connections=20, l1=10.0, lr=0.5, optimizer=optimizer, seed=9)
    (w.sum() * 0 + (w ** 2).sum()).backward()
    optimizer.step()
    rewiring.after_step()                 # the shrink of 5 prunes every old synapse
    new = rewiring.masks[0]
    assert rewiring.rewired == int(new.sum()) == 20
    state = optimizer.state[w]
    assert torch.all(state["exp_avg"][new] == 0) and torch.all(state["exp_avg_sq"][new] == 0)
    assert torch.all(w.detach()[new] == 0)


def test_errors_name_the_limit_and_the_value():
    params = parameters((4, 5), (5, 2))
    with pytest.raises(DeepRError, match="budget of all parameters is 31 synapses, but there "
                                         "are only 30"):
        DeepR(params, connections=31)
    with pytest.raises(DeepRError, match="budget of parameter '1' is 0 synapses; it must be at "
                                         "least 1"):
        DeepR(params, connections=[5, 0], scope="tensor")
    with pytest.raises(DeepRError, match="budget of all parameters is 0"):
        DeepR(params, fraction=0.01)
    with pytest.raises(DeepRError, match="exactly one of connections"):
        DeepR(params, connections=3, fraction=0.5)
    with pytest.raises(DeepRError, match="fraction must lie in"):
        DeepR(params, fraction=1.5)
    with pytest.raises(DeepRError, match="scope='tensor'"):
        DeepR(params, connections=[3, 3])
    flipped = [-torch.sign(p.detach()) for p in params]
    with pytest.raises(DeepRError, match="parameter '0' has 20 weights whose sign differs"):
        DeepR(params, connections=3, signs=flipped)
    with pytest.raises(DeepRError, match=r"\+1/-1 shaped \(4, 5\)"):
        DeepR(params, connections=3, signs=[torch.ones(5, 4), torch.ones(5, 2)])
    with pytest.raises(DeepRError, match="parameter 'x' must be a floating-point leaf"):
        DeepR({"x": torch.zeros(3)}, connections=1)
    with pytest.raises(DeepRError, match="temperature must be a finite number >= 0"):
        DeepR(params, connections=3, temperature=-1.0)
