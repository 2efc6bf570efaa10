//! Golden model of the spiking core: Loihi's published integer CUBA LIF neuron and the
//! crossbar synapses that feed it (docs/references.md), per time step:
//!
//! ```text
//! a_in[n] = sat16(sum over spiking axons of W[axon][n])
//! u' = wrap24(trunc0(u * (4096 - (du + 1)) / 4096) + (a_in << 6))
//! v' = sat24(trunc0(v * (4096 - dv) / 4096) + u' + (bias_mant << bias_exp))   (+-(2^23 - 1))
//! spike = v' > (vth << 6);  if spike: v' = 0
//! ```
//!
//! trunc0 truncates toward zero (on the magnitude, then the sign): -5 * 4095 / 4096 is -4.

use super::io::wrap;
use super::Matrix;

/// Largest |v|.
pub const V_MAX: i64 = (1 << 23) - 1;

/// Per-core parameters (bias per neuron).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifParams {
    /// Current decay, 0..=4095.
    pub du: u32,
    /// Voltage decay, 0..=4095.
    pub dv: u32,
    /// Threshold, 17 bits.
    pub vth: u32,
    /// Bias added to v every step (bias_mant << bias_exp), per neuron.
    pub bias: Vec<i64>,
}

/// x / 4096 truncated toward zero.
pub(crate) fn div4096_toward_zero(x: i64) -> i64 {
    if x >= 0 {
        x >> 12
    } else {
        -((-x) >> 12)
    }
}

/// Saturates to 16-bit signed.
pub fn sat16(x: i64) -> i64 {
    x.clamp(-(1 << 15), (1 << 15) - 1)
}

/// One neuron, one step: (u, v, a_in) to (u', v', spike).
pub(crate) fn neuron_step(p: &LifParams, n: usize, u: i64, v: i64, a_in: i64) -> (i64, i64, bool) {
    let u2 = wrap(
        i128::from(div4096_toward_zero(u * (4096 - (i64::from(p.du) + 1))) + (a_in << 6)),
        24,
        true,
    ) as i64;
    let v2 =
        (div4096_toward_zero(v * (4096 - i64::from(p.dv))) + u2 + p.bias[n]).clamp(-V_MAX, V_MAX);
    let spike = v2 > i64::from(p.vth) << 6;
    (u2, if spike { 0 } else { v2 }, spike)
}

/// Synaptic input of every neuron for one step: sat16 of the summed weight rows of the
/// spiking axons.
pub(crate) fn synaptic_input(spikes: &[bool], weights: &Matrix) -> Vec<i64> {
    (0..weights.cols)
        .map(|n| {
            let sum: i64 = spikes
                .iter()
                .enumerate()
                .filter(|(_, s)| **s)
                .map(|(a, _)| weights.at(a, n) as i64)
                .sum();
            sat16(sum)
        })
        .collect()
}

/// State of every neuron after each step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifTrace {
    /// u after each step, T x neurons.
    pub u: Matrix,
    /// v after each step.
    pub v: Matrix,
    /// Spikes of each step (0/1).
    pub spikes: Matrix,
}

/// The first difference between two traces: (step, neuron, field, expected, actual).
pub fn first_difference(
    expected: &LifTrace,
    actual: &LifTrace,
) -> Option<(usize, usize, &'static str, i128, i128)> {
    for t in 0..expected.u.rows {
        for n in 0..expected.u.cols {
            for (field, e, a) in [
                ("spike", &expected.spikes, &actual.spikes),
                ("u", &expected.u, &actual.u),
                ("v", &expected.v, &actual.v),
            ] {
                if e.at(t, n) != a.at(t, n) {
                    return Some((t, n, field, e.at(t, n), a.at(t, n)));
                }
            }
        }
    }
    None
}

/// The per-neuron bias of a config: its per-neuron mantissas, or bias_mant, shifted.
pub fn params_of(cfg: &crate::config::LifConfig, mantissas: Option<&[i128]>) -> LifParams {
    let bias = (0..cfg.neurons as usize)
        .map(|n| {
            let mant = match mantissas {
                Some(m) => m[n] as i64,
                None => i64::from(cfg.bias_mant),
            };
            mant << cfg.bias_exp
        })
        .collect();
    LifParams {
        du: cfg.du,
        dv: cfg.dv,
        vth: cfg.vth,
        bias,
    }
}

/// Runs a core from rest (u = v = 0) over T steps: `spikes` is T x axons (0/1), `weights`
/// axons x neurons.
pub fn run_core(p: &LifParams, spikes: &Matrix, weights: &Matrix) -> LifTrace {
    let (t_steps, n) = (spikes.rows, weights.cols);
    let mut u = vec![0i64; n];
    let mut v = vec![0i64; n];
    let mut tr = LifTrace {
        u: Matrix::zeros(t_steps, n),
        v: Matrix::zeros(t_steps, n),
        spikes: Matrix::zeros(t_steps, n),
    };
    for t in 0..t_steps {
        let s: Vec<bool> = (0..spikes.cols).map(|a| spikes.at(t, a) != 0).collect();
        let a_in = synaptic_input(&s, weights);
        for k in 0..n {
            let (u2, v2, sp) = neuron_step(p, k, u[k], v[k], a_in[k]);
            u[k] = u2;
            v[k] = v2;
            *tr.u.at_mut(t, k) = i128::from(u2);
            *tr.v.at_mut(t, k) = i128::from(v2);
            *tr.spikes.at_mut(t, k) = i128::from(sp);
        }
    }
    tr
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(du: u32, dv: u32, vth: u32, bias: i64) -> LifParams {
        LifParams {
            du,
            dv,
            vth,
            bias: vec![bias],
        }
    }

    #[test]
    fn truncation_is_toward_zero() {
        assert_eq!(div4096_toward_zero(-5 * 4095), -4);
        assert_eq!(div4096_toward_zero(5 * 4095), 4);
        assert_eq!(div4096_toward_zero(-4096), -1);
        assert_eq!(div4096_toward_zero(-4095), 0);
    }

    #[test]
    fn decay_only_trace() {
        // du = 4095 keeps nothing of u: u' = trunc(u * 0 / 4096) + a_in << 6.
        let p = params(4095, 0, 1 << 16, 0);
        let (u, v, s) = neuron_step(&p, 0, 1000, 0, 0);
        assert_eq!((u, v, s), (0, 0, false));
        // du = 0 keeps 4095/4096 of u: 4096 -> 4095; dv = 0 keeps v entirely: v' = v + u'.
        let p = params(0, 0, 1 << 16, 0);
        let (u, v, _) = neuron_step(&p, 0, 4096, 100, 0);
        assert_eq!((u, v), (4095, 100 + 4095));
        // Negative u decays toward zero: -5 * 4095 / 4096 -> -4.
        let (u, _, _) = neuron_step(&p, 0, -5, 0, 0);
        assert_eq!(u, -4);
        // A hand trace with du = 410, dv = 205, one input of 10 then decay.
        let p = params(410, 205, 1 << 16, 0);
        let (u1, v1, _) = neuron_step(&p, 0, 0, 0, 10);
        assert_eq!((u1, v1), (640, 640)); // 10 << 6
        let (u2, v2, _) = neuron_step(&p, 0, u1, v1, 0);
        // u: 640 * 3685 / 4096 = 575.8 -> 575; v: 640 * 3891 / 4096 = 607.9 -> 607, + 575.
        assert_eq!((u2, v2), (575, 1182));
    }

    #[test]
    fn bias_driven_spiking_resets_v() {
        // bias 100 << 3 = 800 per step, no decay on v, vth = 20 -> threshold 1280.
        let p = params(0, 0, 20, 800);
        let mut v = 0;
        let mut fired = Vec::new();
        for _ in 0..4 {
            let (_, v2, s) = neuron_step(&p, 0, 0, v, 0);
            fired.push(s);
            v = v2;
        }
        // v: 800, 1600 > 1280 -> spike, reset 0; 800; 1600 -> spike.
        assert_eq!(fired, vec![false, true, false, true]);
        // Strictly greater: exactly the threshold does not fire.
        let p = params(0, 0, 20, 1280);
        assert!(!neuron_step(&p, 0, 0, 0, 0).2);
    }

    #[test]
    fn v_saturates_and_u_wraps() {
        let p = params(0, 0, (1 << 17) - 1, 0);
        // v near the top plus a large u saturates at 2^23 - 1; even the largest threshold
        // (vth << 6 = 2^23 - 64) is below that, so it spikes and resets.
        let (_, v, s) = neuron_step(&p, 0, 4096 * 100, V_MAX - 10, 0);
        assert_eq!((v, s), (0, true));
        let (_, v, _) = neuron_step(&p, 0, -4096 * 100, -V_MAX + 10, 0);
        assert_eq!(v, -V_MAX);
        // u wraps at 24 bits: 0x7fffff decays by 1 to 0x7ff7ff, then + (32767 << 6) wraps.
        let (u, _, _) = neuron_step(&p, 0, (1 << 23) - 1, 0, 32767);
        // 8388607 * 4095 / 4096 = 8386559.0 -> 8386559, + 2097088 = 10483647, - 2^24.
        assert_eq!(u, -6_293_569);
    }

    #[test]
    fn du_extremes() {
        let p0 = params(0, 0, 1 << 16, 0);
        let p1 = params(4095, 0, 1 << 16, 0);
        assert_eq!(neuron_step(&p0, 0, -8192, 0, 0).0, -8190);
        assert_eq!(neuron_step(&p1, 0, -8192, 0, 0).0, 0);
    }

    #[test]
    fn synaptic_input_saturates_the_sum() {
        let w = Matrix::from_rows(3, 1, vec![30000, 30000, -30000]);
        assert_eq!(synaptic_input(&[true, true, false], &w), vec![32767]);
        // The exact sum is saturated once (not after each addition): 30000 + 30000 - 30000.
        assert_eq!(synaptic_input(&[true, true, true], &w), vec![30000]);
    }
}
