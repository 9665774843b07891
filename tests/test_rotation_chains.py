"""Running products of per-sample rotations (`gait.dsp.rotation_chains`): the compiled route of the
foot's stride attitude and push-off pivot, against products formed one by one here, against the
NumPy route (a product tree, a prefix scan), and the pivot against a foot turning about a known
point. ``chains.COMPILED`` picks the route at each call, so both run in any build (the loops in
pure Python too, slowly)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gait.core.config import GRAVITY_MPS2
from gait.detect.foot import pivot_speed
from gait.dsp import rotation_chains as chains
from gait.dsp.foot_orientation import step_rotations, stride_tree
from gait.metrics.foot_strike import StrideAttitude

FS = 200.0


def _stride(n: int, seed: int):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FS
    gyr = np.column_stack([300.0 * np.sin(2 * np.pi * 1.4 * t + k) + rng.normal(0, 20, n) for k in range(3)])
    acc = rng.normal(0.0, 15.0, (n, 3)) + np.array([0.0, 0.0, GRAVITY_MPS2])
    return gyr, acc, step_rotations(gyr, FS)


def _one_by_one(rot: np.ndarray, vec: np.ndarray):
    """C_{n-1}, sum C_t v_t, sum t C_t v_t and every C_t, by plain products in order."""
    c = np.eye(3)
    cs = []
    s0 = np.zeros(3)
    s1 = np.zeros(3)
    for t in range(vec.shape[0]):
        cs.append(c.copy())
        x = c @ vec[t]
        s0 += x
        s1 += t * x
        if t + 1 < vec.shape[0]:
            c = c @ rot[t]
    return cs[-1], s0, s1, cs


@pytest.mark.parametrize("n", [1, 2, 3, 17, 140, 257])
def test_chain_sums_equal_the_products_formed_one_by_one_and_the_tree(n):
    gyr, acc, rot = _stride(n, seed=n)
    out = np.empty((3, 5))
    att = np.empty((n, 9))
    chains.attitudes(rot, n, att)
    chains.chain_sums(att, acc, out)
    c, s0, s1, cs = _one_by_one(rot, acc)
    np.testing.assert_allclose(att.reshape(n, 3, 3), np.array(cs), rtol=0, atol=1e-13)
    np.testing.assert_allclose(out[:, :3], c, rtol=0, atol=1e-13)
    np.testing.assert_allclose(out[:, 3], s0, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(out[:, 4], s1, rtol=1e-13, atol=1e-10)
    root = stride_tree(None, acc, FS, rot)[-1][0]
    np.testing.assert_allclose(out, root[:3, :5], rtol=1e-13, atol=1e-10)


def test_chain_up_is_the_world_up_between_two_samples():
    gyr, acc, rot = _stride(150, seed=4)
    _, _, _, cs = _one_by_one(rot, acc)
    att = np.empty((150, 9))
    chains.attitudes(rot, 150, att)
    up0 = np.array([0.2, -0.3, 0.93])
    up0 /= np.linalg.norm(up0)
    for i, fr in [(0, 0.0), (0, 0.7), (61, 0.25), (148, 1.0)]:
        out = np.empty(3)
        chains.chain_up(att, rot, i, *up0.tolist(), fr, out)
        a = cs[i].T @ up0
        b = cs[i + 1].T @ up0
        want = (1 - fr) * a + fr * b
        np.testing.assert_allclose(out, want / np.linalg.norm(want), rtol=0, atol=1e-13)


def test_stride_attitude_is_the_same_by_either_route(monkeypatch):
    gyr, acc, rot = _stride(143, seed=9)
    got = {}
    for route in (False, True):
        monkeypatch.setattr(chains, "COMPILED", route)
        att = StrideAttitude(None, acc, FS, GRAVITY_MPS2, rot=rot)
        got[route] = (att.gravity_ratio, att.stride_m, att.up0, att.up1, att.travel0, att.travel1,
                      att.up_at(37.4), att.up_at(0.0), att.up_at(142.0))  # fmt: skip
    for a, b in zip(got[False], got[True]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def _foot_turning_about(x_m: float, z_m: float, n: int = 60):
    """A foot flat at row 0 (sensor frame = world: x forward, y right... here the sagittal
    rotation is about the sensor's y axis), then pitching about a fixed point of the ground at
    ``x_m`` forward and ``z_m`` up of the sensor (body frame), with a constant angular
    acceleration: the specific force and rate such a sensor measures, exactly."""
    g = GRAVITY_MPS2
    alpha = 40.0  # rad/s^2
    t = np.arange(n) / FS
    th, dth, ddth = 0.5 * alpha * t * t, alpha * t, np.full(n, alpha)
    r = np.array([x_m, 0.0, z_m])  # sensor -> pivot, body frame
    acc = np.empty((n, 3))
    for k in range(n):
        c, s = math.cos(th[k]), math.sin(th[k])
        rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])  # body -> world (+th about y)
        # sensor = pivot - C r: its acceleration is -(d2C/dt2) r
        d2c = np.array(
            [[-s * ddth[k] - c * dth[k] ** 2, 0.0, c * ddth[k] - s * dth[k] ** 2], [0.0, 0.0, 0.0],
             [-c * ddth[k] + s * dth[k] ** 2, 0.0, -s * ddth[k] - c * dth[k] ** 2]]
        )  # fmt: skip
        acc[k] = rot.T @ (-(d2c @ r) + np.array([0.0, 0.0, g]))
    gyr = np.zeros((n, 3))
    gyr[:, 1] = np.degrees(dth)
    return acc, gyr, step_rotations(gyr, FS)


@pytest.mark.parametrize("route", [False, True])
def test_the_pivot_is_found_where_the_foot_turns(monkeypatch, route):
    monkeypatch.setattr(chains, "COMPILED", route)
    acc, gyr, rot = _foot_turning_about(0.14, -0.05)
    res = pivot_speed(acc, gyr, rot, FS, np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]), slice(5, 60))
    assert res is not None
    speed, x, z = res
    assert x == pytest.approx(0.14, abs=2e-3) and z == pytest.approx(-0.05, abs=2e-3)
    assert float(np.max(speed)) < 0.02  # the pivot does not move (trapezoid integration error only)


def test_pivot_speed_is_the_same_by_either_route(monkeypatch):
    gyr, acc, rot = _stride(70, seed=11)
    up, fwd = np.array([0.1, 0.05, 0.99]), np.array([0.99, 0.0, -0.1])
    got = {}
    for route in (False, True):
        monkeypatch.setattr(chains, "COMPILED", route)
        got[route] = pivot_speed(acc, gyr, rot[:69], FS, up, fwd, slice(10, 40))
    (sa, xa, za), (sb, xb, zb) = got[False], got[True]
    assert xb == pytest.approx(xa, rel=1e-10) and zb == pytest.approx(za, rel=1e-10)
    np.testing.assert_allclose(sb, sa, rtol=1e-10, atol=1e-12)


def test_a_degenerate_pivot_fit_is_none_by_either_route(monkeypatch):
    acc = np.tile([0.0, 0.0, GRAVITY_MPS2], (20, 1))
    gyr = np.zeros((20, 3))  # no rotation: no lever arm to fit
    rot = step_rotations(gyr, FS)
    for route in (False, True):
        monkeypatch.setattr(chains, "COMPILED", route)
        assert pivot_speed(acc, gyr, rot, FS, np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]), slice(2, 15)) is None


def test_step_rotations_by_the_loop_are_numpys(monkeypatch):
    rng = np.random.default_rng(21)
    gyr = rng.normal(0.0, 300.0, (2000, 3))
    gyr[100:110] = 0.0  # no rotation: the identity
    monkeypatch.setattr(chains, "COMPILED", False)
    want = step_rotations(gyr, FS)
    monkeypatch.setattr(chains, "COMPILED", True)
    got = step_rotations(gyr, FS)
    out = np.zeros((1999, 3, 3))
    assert step_rotations(gyr, FS, out=out) is out and out.tobytes() == got.tobytes()
    assert np.array_equal(got[100:109], np.broadcast_to(np.eye(3), (9, 3, 3)))
    th = np.abs(rng.normal(0.0, 0.05, 10000))
    libm_is_numpys = np.sin(th).tolist() == [math.sin(v) for v in th.tolist()] and np.cos(th).tolist() == [
        math.cos(v) for v in th.tolist()
    ]
    if libm_is_numpys:  # the same operations: the same bits
        assert got.tobytes() == want.tobytes()
    else:  # this NumPy's sin / cos are its own: the last bit may differ
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
