"""The torus solver: known answers (Taylor-Green), incompressibility, energy and enstrophy
budgets, order of accuracy of both schemes, Fourier lifting, and the GRF's law."""

from __future__ import annotations

import math

import pytest
import torch

from spinlock_fluids.grf import GaussianRandomField
from spinlock_fluids.solver import TorusSolver

F64 = torch.float64


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny FFTs run much faster on one thread than with intra-op threading on a busy CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _xy(n: int):
    c = torch.arange(n, dtype=F64) / n
    return c.view(1, -1), c.view(-1, 1)  # x along the last axis, y along the one before


def _grf(n: int, seed: int = 1, scale: float = 1.0) -> torch.Tensor:
    """A smooth random vorticity ``[1, n, n]`` (the paper's law drawn at 4n, subsampled)."""
    w = GaussianRandomField(4 * n).sample([torch.Generator().manual_seed(seed)])
    return scale * w[:, ::4, ::4].to(F64)


def _run(solver, w0, nu, t_end, dt, scheme, amplitude=0.0, k=(1, 1)):
    explicit, implicit = solver.crank_nicolson(torch.tensor([nu], dtype=F64), dt)
    forcing_dt = dt * solver.forcing([amplitude], [k[0]], [k[1]])
    w_hat = solver.advance(
        solver.to_spectral(w0), round(t_end / dt), dt, explicit, implicit, forcing_dt, scheme
    )
    return solver.to_physical(w_hat)


@pytest.mark.parametrize("scheme", ["euler", "heun"])
def test_taylor_green_vortex_decays_as_the_exact_solution(scheme):
    """w = sin 2πx sin 2πy is a Laplacian eigenfunction, so u·∇w = 0 and w(t) = w0 e^{-8π²νt}."""
    n, nu, t_end = 16, 1e-2, 1.0
    solver = TorusSolver(n, dtype=F64)
    x, y = _xy(n)
    w0 = (torch.sin(2 * math.pi * x) * torch.sin(2 * math.pi * y))[None]
    errors = []
    for dt in (1e-2, 5e-3):
        exact = w0 * math.exp(-8 * math.pi**2 * nu * t_end)
        w = _run(solver, w0, nu, t_end, dt, scheme)
        errors.append(((w - exact).abs().max() / exact.abs().max()).item())
    assert errors[0] < 1e-5, errors  # measured 4.1e-6: Crank-Nicolson only, advection is zero
    assert 3.8 < errors[0] / errors[1] < 4.2, errors  # second order in dt
    u, v = solver.velocity(solver.to_spectral(w0))
    exact_u = torch.sin(2 * math.pi * x) * torch.cos(2 * math.pi * y) / (4 * math.pi)
    exact_v = -torch.cos(2 * math.pi * x) * torch.sin(2 * math.pi * y) / (4 * math.pi)
    assert torch.allclose(u[0], exact_u, atol=1e-14) and torch.allclose(v[0], exact_v, atol=1e-14)


def test_a_shell_of_equal_wavenumbers_is_also_steady_under_advection():
    """Any sum of modes with one |k| has w ∝ ψ: the pseudo-spectral u·∇w must cancel to roundoff."""
    n = 32
    solver = TorusSolver(n, dtype=F64)
    x, y = _xy(n)
    p = 2 * math.pi
    w0 = torch.cos(p * (x + 2 * y)) + 0.7 * torch.sin(p * (2 * x - y)) - 0.3 * torch.cos(p * (2 * x + y))
    advection = solver.advection(solver.to_spectral(w0[None]))
    assert advection.abs().max().item() < 1e-10 * n * n


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_velocity_is_divergence_free_and_its_curl_is_the_vorticity(dtype, tol):
    n = 32
    solver = TorusSolver(n, dtype=dtype)
    w = _grf(n).to(dtype)
    w_hat = solver.to_spectral(w)
    u, v = solver.velocity(w_hat)
    u_hat, v_hat = torch.fft.rfft2(u), torch.fft.rfft2(v)
    ikx, iky = solver.to_advection[2], solver.to_advection[3]
    div = solver.to_physical(ikx * u_hat + iky * v_hat)
    curl = solver.to_physical(ikx * v_hat - iky * u_hat)
    speed = torch.sqrt(u**2 + v**2).max()
    assert div.abs().max() < tol * speed * n
    # The curl returns w without its mean and its Nyquist modes (a derivative has none).
    resolved = w_hat.clone()
    resolved[..., 0, 0] = 0
    resolved[..., n // 2, :] = 0
    resolved[..., :, n // 2] = 0
    assert (curl - solver.to_physical(resolved)).abs().max() < 10 * tol * w.abs().max()


def _budgets(solver, w_hat, f_hat):
    """Energy E = ½⟨|u|²⟩, enstrophy Z = ½⟨w²⟩, palinstrophy P = ½⟨|∇w|²⟩, ⟨ψ f⟩, ⟨w f⟩."""
    w = solver.to_physical(w_hat)
    u, v = solver.velocity(w_hat)
    psi = solver.to_physical(w_hat * torch.where(solver.k2 > 0, 1 / solver.k2.clamp_min(1e-30), 0))
    wx, wy = (
        solver.to_physical(w_hat * solver.to_advection[2]),
        solver.to_physical(w_hat * solver.to_advection[3]),
    )
    f = solver.to_physical(f_hat)
    return torch.stack(
        [
            0.5 * (u**2 + v**2).mean(),
            0.5 * (w**2).mean(),
            0.5 * (wx**2 + wy**2).mean(),
            (psi * f).mean(),
            (w * f).mean(),
        ]
    )


@pytest.mark.parametrize("amplitude", [0.0, 0.1])
def test_energy_and_enstrophy_budgets(amplitude):
    """dE/dt = -2νZ + ⟨ψf⟩ and dZ/dt = -2νP + ⟨wf⟩ (advection conserves both); unforced, both
    decrease monotonically."""
    n, nu, dt, record, records = 32, 1e-3, 1e-3, 10, 60
    solver = TorusSolver(n, dtype=F64)
    f_hat = solver.forcing([amplitude], [1], [1])
    explicit, implicit = solver.crank_nicolson(torch.tensor([nu], dtype=F64), dt)
    w_hat = solver.to_spectral(_grf(n))
    rows = [_budgets(solver, w_hat, f_hat)]
    for _ in range(records):
        w_hat = solver.advance(w_hat, record, dt, explicit, implicit, dt * f_hat, "heun")
        rows.append(_budgets(solver, w_hat, f_hat))
    E, Z, P, psi_f, w_f = torch.stack(rows).T
    h = record * dt

    def integral(y):
        return h * (y[1:] + y[:-1]).sum() / 2

    dE, dZ = E[-1] - E[0], Z[-1] - Z[0]
    assert abs(dE - integral(-2 * nu * Z + psi_f)) < 1e-4 * abs(dE)  # measured 1e-5
    assert abs(dZ - integral(-2 * nu * P + w_f)) < 2e-3 * abs(dZ)  # measured 5e-4
    if amplitude == 0:
        assert (E.diff() < 0).all() and (Z.diff() < 0).all()
    else:
        assert dE > 0  # the forcing injects energy faster than ν = 1e-3 removes it


@pytest.mark.parametrize("scheme,order", [("euler", 1), ("heun", 2)])
def test_order_of_accuracy_against_a_fine_step(scheme, order):
    n, nu, t_end = 16, 1e-3, 0.5
    solver = TorusSolver(n, dtype=F64)
    w0 = _grf(n, seed=3, scale=3.0)
    ref = _run(solver, w0, nu, t_end, 1e-3, "heun", amplitude=0.1)
    errors = [
        ((_run(solver, w0, nu, t_end, dt, scheme, amplitude=0.1) - ref).norm() / ref.norm()).item()
        for dt in (5e-2, 2.5e-2)
    ]
    ratio = errors[0] / errors[1]
    assert abs(math.log2(ratio) - order) < 0.2, (errors, ratio)


def test_lift_is_fourier_interpolation():
    """A field band-limited below the coarse Nyquist lifts exactly; any coarse field (Nyquist
    modes included) is reproduced at the coarse points by its lift."""
    x, y = _xy(64)
    p = 2 * math.pi
    w_fine = (
        torch.cos(p * (3 * x - 2 * y)) + 0.5 * torch.sin(p * (7 * y)) + 0.25 * torch.cos(p * (5 * x + 6 * y))
    )
    solver = TorusSolver(64, dtype=F64)
    lifted = solver.lift(w_fine[None, ::4, ::4])
    assert torch.allclose(solver.to_physical(lifted)[0], w_fine, atol=1e-12)
    rough = torch.randn(3, 16, 16, generator=torch.Generator().manual_seed(0), dtype=F64)
    back = solver.to_physical(solver.lift(rough))[..., ::4, ::4]
    assert torch.allclose(back, rough, atol=1e-12)
    assert torch.equal(TorusSolver(16, dtype=F64).lift(rough), torch.fft.rfft2(rough))
    with pytest.raises(ValueError, match="cannot lift"):
        solver.lift(torch.zeros(1, 24, 24, dtype=F64))


def test_forcing_is_the_papers_at_n1_diagonal():
    n = 32
    solver = TorusSolver(n, dtype=F64)
    x, y = _xy(n)
    paper = 0.1 * (torch.sin(2 * math.pi * (x + y)) + torch.cos(2 * math.pi * (x + y)))
    assert torch.allclose(solver.to_physical(solver.forcing([0.1], [1], [1]))[0], paper, atol=1e-15)
    kolmogorov = solver.to_physical(solver.forcing([2.0], [0], [3]))[0]  # k = (0, 3): varies along y only
    assert torch.allclose(kolmogorov, kolmogorov[:, :1].expand(n, n), atol=1e-14)


def test_grf_spectrum_follows_its_law_and_slope():
    """Shell-averaged |fft2(w0)|² over many draws matches 2 s⁴ σ² (4π²|k|² + τ²)^(-α) and its
    log-log slope between |k| = 8 and 24 is ≈ -2α (= -5 for the paper's α = 2.5)."""
    s, draws = 64, 200
    field = GaussianRandomField(s)  # α 2.5, τ 7, σ = τ^1.5
    w = field.sample([torch.Generator().manual_seed(i) for i in range(draws)]).to(F64)
    assert w.mean(dim=(1, 2)).abs().max() < 1e-6  # zero mean by construction
    power = (torch.fft.fft2(w).abs() ** 2).mean(0)
    k = torch.fft.fftfreq(s, d=1.0 / s, dtype=F64)
    kmag = torch.sqrt(k.view(-1, 1) ** 2 + k.view(1, -1) ** 2)
    shells = torch.arange(8, 25, dtype=F64)
    measured = torch.stack([power[(kmag - c).abs() < 0.5].mean() for c in shells])
    expected = torch.stack([field.spectrum(kmag[(kmag - c).abs() < 0.5]).mean() for c in shells])
    assert ((measured / expected) - 1).abs().max() < 0.1  # ~ 1/sqrt(200 draws x modes per shell)
    slope = (
        torch.linalg.lstsq(torch.stack([shells.log(), torch.ones_like(shells)], 1), measured.log()[:, None])
        .solution[0]
        .item()
    )
    assert slope == pytest.approx(-5.0, abs=0.3)  # (4π²k² + 49)^-2.5 steepens slightly towards -5


def test_grf_point_statistics_do_not_depend_on_the_drawing_grid():
    """The s² normalisation makes the variance a property of the law, not of the grid size."""
    variances = []
    for s in (64, 256):
        field = GaussianRandomField(s)
        w = field.sample([torch.Generator().manual_seed(i) for i in range(64)])
        variances.append(w.to(F64).var().item())
    assert variances[0] == pytest.approx(variances[1], rel=0.15)
    kk = torch.fft.fftfreq(256, d=1 / 256, dtype=F64)
    k2 = kk.view(-1, 1) ** 2 + kk.view(1, -1) ** 2
    theory = 2 * 7**3 * (4 * math.pi**2 * k2 + 49) ** -2.5
    theory[0, 0] = 0
    assert variances[1] == pytest.approx(theory.sum().item(), rel=0.15)
