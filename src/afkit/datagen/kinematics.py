"""Vectorised relativistic kinematics for the generator: four-vectors, two-body decays, boosts.

Four-vectors are ``(N, 4)`` float64 arrays ``(px, py, pz, E)`` in GeV.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def from_pt_eta_phi_m(pt: Array, eta: Array, phi: Array, m: Array) -> Array:
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return np.stack([px, py, pz, np.sqrt(px**2 + py**2 + pz**2 + m**2)], axis=-1)


def pt_eta_phi_m(p: Array) -> tuple[Array, Array, Array, Array]:
    px, py, pz, e = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    pt = np.hypot(px, py)
    eta = np.arcsinh(np.divide(pz, pt, out=np.zeros_like(pz), where=pt > 0))
    m = np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))
    return pt, eta, np.arctan2(py, px), m


def boost(p: Array, parent: Array) -> Array:
    """Boost ``p`` from the rest frame of ``parent`` into the frame where it is ``parent``."""
    m = np.sqrt(np.maximum(parent[:, 3] ** 2 - np.sum(parent[:, :3] ** 2, axis=1), 1e-12))
    beta = parent[:, :3] / parent[:, 3:4]
    b2 = np.sum(beta**2, axis=1)
    gamma = parent[:, 3] / m
    bp = np.sum(beta * p[:, :3], axis=1)
    coef = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0) * bp + gamma * p[:, 3]
    out = np.empty_like(p)
    out[:, :3] = p[:, :3] + coef[:, None] * beta
    out[:, 3] = gamma * (p[:, 3] + bp)
    return out


def two_body_decay(
    rng: np.random.Generator, parent: Array, m1: Array, m2: Array
) -> tuple[Array, Array]:
    """Isotropic decay of ``parent`` into daughters of masses ``m1``, ``m2`` (lab frame)."""
    n = len(parent)
    mass = np.sqrt(np.maximum(parent[:, 3] ** 2 - np.sum(parent[:, :3] ** 2, axis=1), 1e-12))
    p = np.sqrt(np.maximum((mass**2 - (m1 + m2) ** 2) * (mass**2 - (m1 - m2) ** 2), 0.0)) / (
        2 * mass
    )
    cos_t = rng.uniform(-1.0, 1.0, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    phi = rng.uniform(-np.pi, np.pi, n)
    direction = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)
    d1 = np.concatenate([p[:, None] * direction, np.sqrt(p**2 + m1**2)[:, None]], axis=1)
    d2 = np.concatenate([-p[:, None] * direction, np.sqrt(p**2 + m2**2)[:, None]], axis=1)
    return boost(d1, parent), boost(d2, parent)


def breit_wigner(
    rng: np.random.Generator, mass: float, width: float, n: int, lo: float, hi: float
) -> Array:
    """Masses from a (truncated) relativistic-ish Breit-Wigner: Cauchy clipped to [lo, hi]."""
    out = mass + 0.5 * width * np.tan(np.pi * (rng.uniform(0, 1, n) - 0.5))
    bad = (out < lo) | (out > hi)
    while np.any(bad):
        out[bad] = mass + 0.5 * width * np.tan(np.pi * (rng.uniform(0, 1, int(bad.sum())) - 0.5))
        bad = (out < lo) | (out > hi)
    return out
