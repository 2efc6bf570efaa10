//! The golden model against the plain matrix product (pure Rust, fast): the cycle model driven
//! through the real tiling and streams must reassemble exactly A * B, with and without gaps and
//! back-pressure; with no stalls its cycle count must equal the published formula.

use npugen::config::{ArrayConfig, Dataflow};
use npugen::model::{matmul, ArrayModel, Matrix};
use npugen::rng::{seed_from_env, Rng};
use npugen::sim::operands::{filled, random_matrix};
use npugen::sim::run::{run, RunOptions};
use npugen::sim::stream::Stalls;
use npugen::sim::tiling::{assemble, plan};
use npugen::timing;

fn cfg(
    rows: u32,
    cols: u32,
    df: Dataflow,
    bits: u32,
    acc: Option<u32>,
    signed: bool,
) -> ArrayConfig {
    ArrayConfig {
        rows,
        cols,
        dataflow: df,
        input_bits: bits,
        weight_bits: bits,
        acc_bits: acc,
        signed,
        out_fifo_depth: None,
        pipeline: 0,
        dsp_pes: None,
    }
}

/// Runs A * B through the model alone and returns (C, cycles).
fn through_model(c: &ArrayConfig, a: &Matrix, b: &Matrix, stalls: Option<Stalls>) -> (Matrix, u64) {
    let p = plan(c, a, b);
    let mut m = ArrayModel::new(c);
    let opts = RunOptions {
        stalls,
        ..RunOptions::default()
    };
    let res = run(c, &p, &mut m, None, &opts).expect("model run finishes");
    (assemble(c, &p, &res.rows), res.cycles())
}

#[test]
fn model_matches_plain_product_on_random_shapes() {
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed = {seed} (replay with NPUGEN_SEED={seed})");
    let mut rng = Rng::new(seed);
    let configs = [
        cfg(1, 1, Dataflow::Os, 8, None, true),
        cfg(2, 3, Dataflow::Os, 8, None, true),
        cfg(3, 2, Dataflow::Ws, 8, None, true),
        cfg(4, 4, Dataflow::Ws, 4, None, false),
        cfg(4, 4, Dataflow::Os, 16, Some(34), true),
        cfg(5, 3, Dataflow::Ws, 16, Some(33), true),
    ];
    for c in &configs {
        for (m, k, n) in [
            (1, 1, 1),
            (1, 7, 1),
            (3, 2, 5),
            (4, 4, 4),
            (9, 5, 7),
            (2, 13, 3),
            (10, 1, 9),
        ] {
            let a = random_matrix(&mut rng, m, k, c.input_bits, c.signed);
            let b = random_matrix(&mut rng, k, n, c.weight_bits, c.signed);
            let want = matmul(&a, &b, c.acc_bits(), c.signed);
            let (got, cycles) = through_model(c, &a, &b, None);
            assert_eq!(got, want, "{c:?} shape {m}x{k}x{n}");
            let formula = timing::gemm_cycles(c, m as u64, k as u64, n as u64);
            assert_eq!(
                cycles, formula,
                "{c:?} shape {m}x{k}x{n}: cycles vs formula"
            );
            let stalls = Stalls {
                seed: rng.next_u64(),
                offer_percent: 60,
                ready_percent: 40,
            };
            let (got, _) = through_model(c, &a, &b, Some(stalls));
            assert_eq!(got, want, "{c:?} shape {m}x{k}x{n} with stalls {stalls:?}");
        }
    }
}

#[test]
fn accumulator_wraps_like_twos_complement() {
    // 4x4, 16-bit operands, a 34-bit accumulator: (-32768)^2 * 8 = 2^33 wraps to -2^33.
    let c = cfg(2, 2, Dataflow::Os, 16, Some(34), true);
    let a = filled(2, 8, -32768);
    let b = filled(8, 2, -32768);
    let (got, _) = through_model(&c, &a, &b, None);
    assert!(got.data.iter().all(|&v| v == -(1i128 << 33)), "{got:?}");
    let w = cfg(2, 2, Dataflow::Ws, 16, Some(34), true);
    let (got, _) = through_model(&w, &a, &b, None);
    assert!(got.data.iter().all(|&v| v == -(1i128 << 33)), "{got:?}");
}

/// Every pair of 2-bit operands (signed and unsigned), as 1x1 products, in both dataflows.
#[test]
fn exhaustive_two_bit_operands() {
    for signed in [true, false] {
        for df in [Dataflow::Os, Dataflow::Ws] {
            let c = cfg(2, 2, df, 2, Some(4), signed);
            let vals: Vec<i128> = if signed {
                vec![-2, -1, 0, 1]
            } else {
                vec![0, 1, 2, 3]
            };
            // A is 16 x 1 and B is 1 x 16: C[i][j] = a_i * b_j covers all pairs 16 times.
            let a = Matrix::from_rows(16, 1, (0..16).map(|i| vals[i % 4]).collect());
            let b = Matrix::from_rows(1, 16, (0..16).map(|j| vals[j / 4]).collect());
            let want = matmul(&a, &b, 4, signed);
            let (got, _) = through_model(&c, &a, &b, None);
            assert_eq!(got, want, "signed={signed} {df:?}");
        }
    }
}

/// Behaves like the model, then emits one more (garbage) row after the last real one: the
/// defect a harness that stops at the last expected row cannot see.
struct ExtraRow {
    inner: ArrayModel,
    cols: usize,
    seen: usize,
    total: usize,
    injected: bool,
}

impl npugen::sim::run::Dut for ExtraRow {
    fn step(&mut self, inp: &npugen::model::CycleIn) -> npugen::model::CycleOut {
        let mut out = self.inner.step(inp);
        if out.c_valid && inp.c_ready {
            self.seen += 1;
        } else if self.seen == self.total && !self.injected && !inp.rst {
            out.c_valid = true;
            out.c_last = false;
            out.c_lanes = vec![7; self.cols];
            // Held until taken, as AXI-Stream requires.
            self.injected = inp.c_ready;
        }
        out
    }
}

#[test]
fn an_extra_row_after_the_last_is_caught_in_the_drain_tail() {
    for df in [Dataflow::Os, Dataflow::Ws] {
        let c = cfg(3, 2, df, 8, None, true);
        let mut rng = Rng::new(41);
        let a = random_matrix(&mut rng, 4, 5, 8, true);
        let b = random_matrix(&mut rng, 5, 3, 8, true);
        let p = plan(&c, &a, &b);
        let dut = || ExtraRow {
            inner: ArrayModel::new(&c),
            cols: 2,
            seen: 0,
            total: p.rows.len(),
            injected: false,
        };
        // With the drain tail (the default), the extra row is a c_tvalid mismatch and is
        // counted.
        let mut model = ArrayModel::new(&c);
        let res = run(&c, &p, &mut dut(), Some(&mut model), &RunOptions::default()).unwrap();
        let mm = res.mismatch.expect("the extra row is caught");
        assert_eq!(mm.port, "c_tvalid", "{df:?}: {mm}");
        assert_eq!(res.rows.len(), p.rows.len() + 1, "{df:?}");
        // Without a tail (the old behaviour) the same DUT passes: the test can fail.
        let mut model = ArrayModel::new(&c);
        let opts = RunOptions {
            tail_cycles: Some(0),
            ..RunOptions::default()
        };
        let res = run(&c, &p, &mut dut(), Some(&mut model), &opts).unwrap();
        assert!(res.mismatch.is_none() && res.rows.len() == p.rows.len());
        // A correct DUT passes the tail.
        let mut model = ArrayModel::new(&c);
        let mut good = ArrayModel::new(&c);
        let res = run(&c, &p, &mut good, Some(&mut model), &RunOptions::default()).unwrap();
        assert!(res.mismatch.is_none(), "{df:?}: {:?}", res.mismatch);
        assert_eq!(res.rows.len(), p.rows.len());
    }
}
