r"""The NumPy reference of the Drucker-Prager-Cap return map (``dpc.py``): the batched local
Newton, sub-stepping and consistent tangent that the compiled kernel (``dpc_kernel.py``) is
held to at 1e-12 by the tests.

The equations (local residual r1..r4 in x = (p, q, d_lambda, kappa), closest-point projection,
sub-stepping, implicit-function tangent, Duvaut-Lions) are in ``dpc.py``'s docstring.  Here the
partial derivatives of the local residual (and of K, G in kappa) are taken by complex-step
differentiation (Martins, Sturdza & Alonso 2003), exact to round-off.  The local Newton stops at
a scaled residual below 1e-12 and takes one more (polishing) step to round-off (the kernel
does the same).

`NumpyReturnMapping` is a mixin of ``DruckerPragerCap``: it uses the law's material functions
and surfaces (`_elastic_moduli`, `_geometry`, `_yield_value`, `_potential_gradient`).
"""
from __future__ import annotations

import numpy as np

from .base import IDENTITY, P_DEV, P_VOL
from .dpc_surfaces import CAP, SHEAR
from .errors import MaterialPointError

_H = 1e-30                      # complex-step size
_TOL = 1e-12                    # local Newton tolerance on the scaled residual (strain units)
_MAX_ITER = 40
#: the sub-step counts tried, in turn, when a whole increment has no admissible return
SUBSTEPS = (2, 4, 8, 16, 32, 64)
SQ23 = np.sqrt(2.0 / 3.0)
SQ32 = np.sqrt(1.5)


def _complex_derivative(function, x):
    """d function / d x of an analytic, batched function by complex step (exact to round-off)."""
    return np.imag(function(x + 1j * _H)) / _H


def _invariants(eps):
    """eps_v = tr(eps), e = dev(eps), eps_q = sqrt(2/3 e:e), unit deviator n (0 if e = 0)."""
    eps_v = eps[:, :3].sum(axis=1)
    e = eps - eps_v[:, None] / 3.0 * IDENTITY
    norm = np.sqrt(np.einsum("ij,ij->i", e, e))
    n = np.where(norm[:, None] > 1e-300, e / np.where(norm > 1e-300, norm, 1.0)[:, None], 0.0)
    return eps_v, e, SQ23 * norm, n


class NumpyReturnMapping:
    """The batched NumPy return map of ``DruckerPragerCap`` (the kernel's reference)."""

    def _residual(self, x, eps_v, eps_q, kappa_n, scale_k, scale_g, arm):
        """Scaled residual (m, 4) of the local system; x = (p, q, d_lambda, kappa)."""
        p, q, dlam, kappa = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
        bulk, shear = self._elastic_moduli(kappa)
        jac_det = np.exp(eps_v + kappa_n)          # J = J_e J_p, fixed during the return
        g_p, g_q_over_q = self._potential_gradient(p / jac_det, q / jac_det, kappa, arm)
        f, _ = self._yield_value(p / jac_det, q / jac_det, kappa, arm)
        return np.stack([
            (p + bulk * (eps_v - (kappa - kappa_n))) / scale_k,
            (q - 3.0 * shear * (eps_q - dlam * g_q_over_q * q / jac_det)) / scale_g,
            kappa - kappa_n + dlam * g_p,
            f / scale_k], axis=1)

    def _residual_and_jacobian(self, x, args, arm):
        m = x.shape[0]
        jac = np.empty((m, 4, 4))
        for j in range(4):
            xc = x.astype(complex)
            xc[:, j] += 1j * _H
            rc = self._residual(xc, *args, arm)
            jac[:, :, j] = rc.imag / _H
        return rc.real, jac

    def _solve_arm(self, x0, args, arm):
        """Safeguarded Newton on one arm. Returns (x, converged mask)."""
        x = x0.copy()
        m = x.shape[0]
        converged = np.zeros(m, bool)
        failed = np.zeros(m, bool)
        history = []
        res, jac = self._residual_and_jacobian(x, args, arm)
        for _ in range(_MAX_ITER):
            err = np.max(np.abs(res), axis=1)
            history.append(float(np.max(err[~(converged | failed)], initial=0.0)))
            newly = np.flatnonzero((err < _TOL) & ~converged & ~failed)
            if newly.size:                       # one polishing step: round-off accuracy
                with np.errstate(all="ignore"):
                    step = -np.linalg.solve(jac[newly], res[newly][..., None])[..., 0]
                    r_p, j_p = self._residual_and_jacobian(
                        x[newly] + step, tuple(a[newly] for a in args), arm)
                better = np.isfinite(r_p).all(axis=1) & (
                    np.max(np.abs(r_p), axis=1) <= err[newly])
                x[newly[better]] += step[better]
                res[newly[better]], jac[newly[better]] = r_p[better], j_p[better]
                converged[newly] = True
            work = np.flatnonzero(~converged & ~failed)
            if work.size == 0:
                break
            sub_args = tuple(a[work] for a in args)
            with np.errstate(all="ignore"):
                try:
                    step = -np.linalg.solve(jac[work], res[work][..., None])[..., 0]
                except np.linalg.LinAlgError:
                    step = np.full((work.size, 4), np.nan)
                    for k, i in enumerate(work):
                        try:
                            step[k] = -np.linalg.solve(jac[i], res[i])
                        except np.linalg.LinAlgError:
                            pass
            merit0 = 0.5 * np.sum(res[work] ** 2, axis=1)
            length = np.ones(work.size)
            pending = np.isfinite(step).all(axis=1)
            failed[work[~pending]] = True
            accepted_res = np.empty((work.size, 4))
            accepted_jac = np.empty((work.size, 4, 4))
            for _ls in range(30):
                idx = np.flatnonzero(pending)
                if idx.size == 0:
                    break
                trial = x[work[idx]] + length[idx, None] * step[idx]
                with np.errstate(all="ignore"):
                    r_t, j_t = self._residual_and_jacobian(
                        trial, tuple(a[idx] for a in sub_args), arm)
                merit = 0.5 * np.sum(r_t ** 2, axis=1)
                ok = np.isfinite(merit) & (merit <= (1.0 - 2e-4 * length[idx]) * merit0[idx]
                                          + 1e-30)
                good = idx[ok]
                x[work[good]] = trial[ok]
                accepted_res[good] = r_t[ok]
                accepted_jac[good] = j_t[ok]
                pending[good] = False
                length[idx[~ok]] *= 0.5
            failed[work[pending]] = True
            done = ~pending & np.isfinite(step).all(axis=1)
            res[work[done]] = accepted_res[done]
            jac[work[done]] = accepted_jac[done]
        self._last_newton_residuals = history
        return x, converged & ~failed

    def _plastic_return(self, eps_trial, kappa_n, eps_v, eps_q, n, scale_k, scale_g, first_arm):
        """Return of points known to be outside. Returns dict of results and an ok mask."""
        m = eps_trial.shape[0]
        args = (eps_v, eps_q, kappa_n, scale_k, scale_g)
        bulk_n, shear_n = self._elastic_moduli(kappa_n)
        x0 = np.stack([-bulk_n * eps_v, 3.0 * shear_n * eps_q, np.zeros(m), kappa_n], axis=1)
        x = np.full((m, 4), np.nan)
        arm_used = np.zeros(m, int)
        ok = np.zeros(m, bool)
        for attempt in range(2):
            for arm in (CAP, SHEAR):
                idx = np.flatnonzero(~ok & ((first_arm == arm) if attempt == 0
                                            else (first_arm != arm)))
                if idx.size == 0:
                    continue
                xa, conv = self._solve_arm(x0[idx], tuple(a[idx] for a in args), arm)
                p, q, dlam, kappa = xa.T
                p = p / np.exp(eps_v[idx] + kappa_n[idx])     # Cauchy mean stress
                p_a = self._geometry(kappa)[4]
                slack = 1e-9 * (1.0 + np.abs(p_a))
                side = (p >= p_a - slack) if arm == CAP else (p <= p_a + slack)
                dense = self.relative_density(kappa) < 1.0
                admissible = conv & side & (dlam >= -1e-12) & (q >= -1e-12) & dense
                good = idx[admissible]
                x[good] = xa[admissible]
                arm_used[good] = arm
                ok[good] = True
        out = self._linearise(x, arm_used, ok, eps_trial, eps_v, eps_q, n, kappa_n,
                              scale_k, scale_g)
        return out, ok

    def _linearise(self, x, arm_used, ok, eps_trial, eps_v, eps_q, n, kappa_n, scale_k,
                   scale_g):
        """Elastic strain, kappa and their derivatives at converged local solutions (IFT)."""
        m = x.shape[0]
        eps_e = np.full((m, 6), np.nan)
        kappa = np.full(m, np.nan)
        a_mat = np.full((m, 6, 6), np.nan)
        dk_de = np.full((m, 6), np.nan)
        de_dkn = np.full((m, 6), np.nan)
        dk_dkn = np.full(m, np.nan)
        code = np.zeros(m, int)
        for arm in (CAP, SHEAR):
            idx = np.flatnonzero(ok & (arm_used == arm))
            if idx.size == 0:
                continue
            xi = x[idx]
            args = [eps_v[idx], eps_q[idx], kappa_n[idx], scale_k[idx], scale_g[idx]]
            _, jac = self._residual_and_jacobian(xi, tuple(args), arm)
            b = np.empty((idx.size, 4, 3))
            for j in range(3):                   # inputs eps_v, eps_q, kappa_n
                ac = [a.astype(complex) for a in args]
                ac[j] = ac[j] + 1j * _H
                b[:, :, j] = self._residual(xi.astype(complex), *ac, arm).imag / _H
            dx = -np.linalg.solve(jac, b)        # (k, 4, 3): d(p, q, dlam, kappa)/d(inputs)
            p, q, dlam, kap = xi.T
            shear = self._elastic_moduli(kap)[1]
            dshear = _complex_derivative(lambda k: self._elastic_moduli(k)[1], kap)
            jac_det = np.exp(eps_v[idx] + kappa_n[idx])
            _, g_q_over_q = self._potential_gradient(p / jac_det, q / jac_det, kap, arm)
            ratio = 1.0 / (1.0 + 3.0 * shear * dlam * g_q_over_q / jac_det)  # eps_q_e/eps_q_tr
            # eps_q_e = q / (3 G(kappa))
            deq = dx[:, 1, :] / (3.0 * shear[:, None]) \
                - (q * dshear / (3.0 * shear ** 2))[:, None] * dx[:, 3, :]
            dk = dx[:, 3, :]
            ni = n[idx]
            eps_v_e = eps_v[idx] - kap + kappa_n[idx]
            eps_dev = eps_trial[idx] - (eps_v[idx] / 3.0)[:, None] * IDENTITY
            eps_e[idx] = (eps_v_e / 3.0)[:, None] * IDENTITY + ratio[:, None] * eps_dev
            kappa[idx] = kap
            dk_de[idx] = dk[:, 0, None] * IDENTITY + (SQ23 * dk[:, 1])[:, None] * ni
            nn = np.einsum("ki,kj->kij", ni, ni)
            a_mat[idx] = (np.einsum("i,kj->kij", IDENTITY / 3.0, IDENTITY - dk_de[idx])
                          + SQ32 * deq[:, 0, None, None] * np.einsum("ki,j->kij", ni, IDENTITY)
                          + deq[:, 1, None, None] * nn
                          + ratio[:, None, None] * (P_DEV - nn))
            de_dkn[idx] = ((1.0 - dk[:, 2]) / 3.0)[:, None] * IDENTITY \
                + (SQ32 * deq[:, 2])[:, None] * ni
            dk_dkn[idx] = dk[:, 2]
            code[idx] = np.where(arm == CAP, CAP, self._yield_value(
                p / jac_det, q / jac_det, kap, SHEAR)[1])
        return dict(eps_e=eps_e, kappa=kappa, A=a_mat, dk_de=dk_de, de_dkn=de_dkn,
                    dk_dkn=dk_dkn, code=code)

    def _return_map(self, eps_trial, kappa_n):
        """One rate-independent return from (eps_trial, kappa_n) for all points."""
        m = eps_trial.shape[0]
        eps_v, _, eps_q, n = _invariants(eps_trial)
        bulk_n, shear_n = self._elastic_moduli(kappa_n)
        jac_det = np.exp(eps_v + kappa_n)
        p_tr, q_tr = -bulk_n * eps_v / jac_det, 3.0 * shear_n * eps_q / jac_det   # Cauchy
        p_a = self._geometry(kappa_n)[4]
        first_arm = np.where(p_tr > p_a, CAP, SHEAR)
        f_cap = self._yield_value(p_tr, q_tr, kappa_n, CAP)[0]
        f_shear = self._yield_value(p_tr, q_tr, kappa_n, SHEAR)[0]
        f_trial = np.where(first_arm == CAP, f_cap, f_shear)
        stress_scale = np.abs(self.cap_pressure(kappa_n)) + np.abs(self._geometry(kappa_n)[0])
        plastic = f_trial > 1e-10 * stress_scale

        out = dict(eps_e=eps_trial.copy(), kappa=kappa_n.copy(),
                   A=np.broadcast_to(np.eye(6), (m, 6, 6)).copy(),
                   dk_de=np.zeros((m, 6)), de_dkn=np.zeros((m, 6)), dk_dkn=np.ones(m),
                   code=np.zeros(m, int))
        ok = np.ones(m, bool)
        idx = np.flatnonzero(plastic)
        if idx.size:
            res, ok_p = self._plastic_return(eps_trial[idx], kappa_n[idx], eps_v[idx],
                                             eps_q[idx], n[idx], bulk_n[idx], 3 * shear_n[idx],
                                             first_arm[idx])
            for key in out:
                out[key][idx] = res[key]
            ok[idx] = ok_p
        return out, ok

    def _rate_independent(self, eps_trial, eps_e_n, kappa_n):
        """Return map with sub-stepping; derivatives chained through the sub-steps."""
        m = eps_trial.shape[0]
        out, ok = self._return_map(eps_trial, kappa_n)
        result = dict(eps_e=out["eps_e"], kappa=out["kappa"], T=out["A"], kd=out["dk_de"],
                      code=out["code"])
        # total solid fraction (1 - phi0)/J of the step: >= 1 cannot be reached by any return
        solid = (1.0 - self.initial_porosity) * np.exp(-(eps_trial[:, :3].sum(axis=1) + kappa_n))
        impossible = solid >= 1.0
        for n_sub in SUBSTEPS:
            bad = np.flatnonzero(~ok & ~impossible)
            if bad.size == 0:
                break
            increment = (eps_trial[bad] - eps_e_n[bad]) / n_sub
            eps_e, kappa = eps_e_n[bad].copy(), kappa_n[bad].copy()
            t_mat = np.zeros((bad.size, 6, 6))
            kd = np.zeros((bad.size, 6))
            sub_ok = np.ones(bad.size, bool)
            for _ in range(n_sub):
                step, ok_k = self._return_map(eps_e + increment, kappa)
                sub_ok &= ok_k
                d_trial = t_mat + np.eye(6) / n_sub
                t_mat = (step["A"] @ d_trial
                         + np.einsum("ki,kj->kij", step["de_dkn"], kd))
                kd = np.einsum("ki,kij->kj", step["dk_de"], d_trial) + step["dk_dkn"][:, None] * kd
                eps_e, kappa = step["eps_e"], step["kappa"]
                code = step["code"]
            good = bad[sub_ok]
            result["eps_e"][good] = eps_e[sub_ok]
            result["kappa"][good] = kappa[sub_ok]
            result["T"][good] = t_mat[sub_ok]
            result["kd"][good] = kd[sub_ok]
            result["code"][good] = code[sub_ok]
            ok[good] = True
        if not ok.all():
            bad = np.flatnonzero(~ok)
            raise MaterialPointError(
                self.name, bad, m,
                f"{int(np.sum(impossible))} of them are compressed beyond full density "
                f"(porosity < 0); the others failed after {SUBSTEPS[-1]} sub-steps (pressure "
                "beyond the reach of the hardening law, or no admissible return)")
        return result

    def update_numpy(self, eps_trial, state, dt):
        """The NumPy reference of `update` (complex-step derivatives, batched local Newton)."""
        eps_trial = np.asarray(eps_trial, dtype=float)
        n_points = eps_trial.shape[0]
        kappa_n = state["plastic_volumetric_strain"]
        ri = self._rate_independent(eps_trial, state["elastic_strain"], kappa_n)
        eps_e, kappa, t_mat, kd = ri["eps_e"], ri["kappa"], ri["T"], ri["kd"]
        if self.relaxation_time > 0.0:                          # Duvaut-Lions
            ratio = dt / self.relaxation_time
            w = ratio / (1.0 + ratio)
            eps_e = (1.0 - w) * eps_trial + w * eps_e
            kappa = (1.0 - w) * kappa_n + w * kappa
            t_mat = (1.0 - w) * np.eye(6) + w * t_mat
            kd = w * kd
        bulk, shear = self._elastic_moduli(kappa)
        dbulk = _complex_derivative(lambda k: self._elastic_moduli(k)[0], kappa)
        dshear = _complex_derivative(lambda k: self._elastic_moduli(k)[1], kappa)
        eps_v_e = eps_e[:, :3].sum(axis=1)
        eps_dev_e = eps_e - (eps_v_e / 3.0)[:, None] * IDENTITY
        tau = bulk[:, None] * eps_v_e[:, None] * IDENTITY + 2.0 * shear[:, None] * eps_dev_e
        stiffness = 3.0 * bulk[:, None, None] * P_VOL + 2.0 * shear[:, None, None] * P_DEV
        dstress_dkappa = (dbulk[:, None] * eps_v_e[:, None] * IDENTITY
                          + 2.0 * dshear[:, None] * eps_dev_e)
        tangent = stiffness @ t_mat + np.einsum("ki,kj->kij", dstress_dkappa, kd)
        plastic_increment = eps_trial - eps_e
        new_state = {
            "plastic_volumetric_strain": kappa,
            "equivalent_plastic_strain": state["equivalent_plastic_strain"]
            + SQ23 * np.sqrt(np.einsum("ij,ij->i", plastic_increment, plastic_increment)),
            "cap_pressure": self.cap_pressure(kappa) + 0.0 * kappa,
            "plastic_strain": state["plastic_strain"] + plastic_increment,
            "elastic_strain": eps_e,
            "active_surface": ri["code"].astype(float),
        }
        assert tau.shape == (n_points, 6)
        return tau, tangent, eps_e, new_state

