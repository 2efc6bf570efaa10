//! The spiking core: the Verilated RTL against the Loihi-model golden trace on random
//! networks for several `parallel` settings (every u, v and spike of every neuron at every
//! step), cycles per step against the manifest formula, and the `lif` command end to end.

mod common;

use common::{npugen, npy_bytes, parallel, run, sim_cache, text, tool};
use npugen::config::{Config, LifConfig};
use npugen::flow::tools::ToolKind;
use npugen::model::lif::{first_difference, params_of, run_core};
use npugen::model::Matrix;
use npugen::rng::{seed_from_env, Rng};
use npugen::sim::lif::run_lif;
use npugen::sim::stream::Stalls;
use npugen::sim::verilator::{build_model, TraceFormat, Verilated};

fn lif_cfg(name: &str, l: LifConfig) -> Config {
    Config {
        name: name.into(),
        array: None,
        postproc: None,
        lif: Some(l),
        npu: None,
    }
}

/// Random weights with the extremes mixed in (so sums saturate), spikes at `density` %.
fn network(
    rng: &mut Rng,
    l: &LifConfig,
    steps: usize,
    density: i64,
) -> (Matrix, Matrix, Option<Vec<i128>>) {
    let wmax = (1i64 << (l.weight_bits - 1)) - 1;
    let (a, n) = (l.axons as usize, l.neurons as usize);
    let w = (0..a * n)
        .map(|i| match i % 7 {
            0 => i128::from(wmax),
            1 => i128::from(-wmax - 1),
            _ => i128::from(rng.range(-wmax - 1, wmax)),
        })
        .collect();
    let s = (0..steps * a)
        .map(|_| i128::from(rng.range(0, 99) < density))
        .collect();
    let bias = l
        .per_neuron_bias
        .then(|| (0..n).map(|_| i128::from(rng.range(-4096, 4095))).collect());
    (
        Matrix::from_rows(steps, a, s),
        Matrix::from_rows(a, n, w),
        bias,
    )
}

fn check(c: &Config, seed: u64) -> Result<(), String> {
    let l = c.lif.as_ref().expect("lif");
    let design = npugen::gen::generate_lif(c).map_err(|e| e.to_string())?;
    let build = build_model(&design, TraceFormat::Vcd, &sim_cache()).map_err(|e| e.to_string())?;
    let mut rng = Rng::new(seed);
    for (density, stalls) in [
        (30, None),
        (80, None),
        (
            50,
            Some(Stalls {
                seed,
                offer_percent: 50,
                ready_percent: 40,
            }),
        ),
    ] {
        let (spikes, weights, bias) = network(&mut rng, l, 20, density);
        let want = run_core(&params_of(l, bias.as_deref()), &spikes, &weights);
        let mut sim = Verilated::load(&build).map_err(|e| e.to_string())?;
        let got = run_lif(l, &mut sim, &spikes, &weights, bias.as_deref(), stalls)
            .map_err(|e| e.to_string())?;
        let what = format!(
            "{} density {density}% stalls {stalls:?} (seed {seed})",
            c.name
        );
        if let Some((t, n, f, e, a)) = first_difference(&want, &got.trace) {
            return Err(format!(
                "{what}: step {t}, neuron {n}, {f}: expected {e}, actual {a}"
            ));
        }
        if stalls.is_none() && got.step_cycles != got.formula_cycles {
            return Err(format!(
                "{what}: cycles per step {:?}, formula {:?}",
                got.step_cycles, got.formula_cycles
            ));
        }
        // Step 0 too (regression: only steps 1.. were checked).
        let (measured, formula) = got.first_step_cycles;
        if stalls.is_none() && measured != formula {
            return Err(format!(
                "{what}: step 0 took {measured} cycles, formula S0 * G = {formula}"
            ));
        }
        // The run exercised spiking or v's saturation, or it proves little.
        let saturated = want
            .v
            .data
            .iter()
            .any(|v| v.abs() == i128::from(npugen::model::lif::V_MAX));
        if density == 80 && !saturated && want.spikes.data.iter().all(|v| *v == 0) {
            return Err(format!(
                "{what}: no neuron spiked or saturated; pick a livelier network"
            ));
        }
    }
    Ok(())
}

#[test]
fn rtl_matches_the_loihi_model_on_random_networks() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed = {seed} (replay with NPUGEN_SEED={seed})");
    let base = LifConfig {
        du: 410,
        dv: 205,
        vth: 100,
        ..LifConfig::default()
    };
    let configs = vec![
        lif_cfg(
            "lif_p3",
            LifConfig {
                neurons: 10,
                axons: 6,
                parallel: 3,
                per_neuron_bias: true,
                bias_exp: 2,
                ..base.clone()
            },
        ),
        lif_cfg(
            "lif_g1",
            LifConfig {
                neurons: 8,
                axons: 5,
                parallel: 8,
                bias_mant: 300,
                bias_exp: 3,
                ..base.clone()
            },
        ),
        // Two groups: the next step reads a group in the very cycle its update is written.
        lif_cfg(
            "lif_g2",
            LifConfig {
                neurons: 7,
                axons: 4,
                parallel: 4,
                per_neuron_bias: true,
                bias_exp: 1,
                vth: 40,
                ..base.clone()
            },
        ),
        lif_cfg(
            "lif_p1",
            LifConfig {
                neurons: 5,
                axons: 16,
                parallel: 1,
                du: 0,
                dv: 4095,
                vth: 20,
                ..base.clone()
            },
        ),
        lif_cfg(
            "lif_w16",
            LifConfig {
                neurons: 12,
                axons: 3,
                weight_bits: 16,
                parallel: 4,
                du: 4095,
                dv: 0,
                vth: 131071,
                ..base.clone()
            },
        ),
        lif_cfg(
            "lif_w2",
            LifConfig {
                neurons: 6,
                axons: 9,
                weight_bits: 2,
                parallel: 2,
                dv: 0,
                vth: 0,
                bias_mant: -4096,
                bias_exp: 7,
                ..base
            },
        ),
    ];
    let failures = parallel(&configs, |c| check(c, seed));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn lif_command_end_to_end() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let toml = "name = \"snn\"\n[lif]\nneurons = 4\naxons = 3\nparallel = 2\ndu = 100\ndv = 50\nvth = 5\nbias_mant = 10\nbias_exp = 1\n";
    std::fs::write(d.join("snn.toml"), toml).unwrap();
    let s: Vec<i64> = vec![1, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0];
    let w: Vec<i64> = vec![50, -20, 127, 3, -128, 64, 10, 9, 100, 100, -100, 0];
    std::fs::write(d.join("S.npy"), npy_bytes("|u1", 5, 3, &s)).unwrap();
    std::fs::write(d.join("W.npy"), npy_bytes("|i1", 3, 4, &w)).unwrap();
    let mut cmd = npugen();
    cmd.current_dir(d).env("NPUGEN_CACHE_DIR", sim_cache());
    let o = run(cmd.args([
        "lif",
        "snn.toml",
        "--spikes",
        "S.npy",
        "--weights",
        "W.npy",
        "--out",
        "run",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let u = npugen::npy::read(&d.join("run/u.npy")).unwrap();
    let sp_raw = std::fs::read(d.join("run/spikes.npy")).unwrap();
    assert!(String::from_utf8_lossy(&sp_raw[..60]).contains("|u1"));
    let cfg = Config::load(toml, "snn").unwrap();
    let sm = Matrix::from_rows(5, 3, s.iter().map(|&x| i128::from(x)).collect());
    let wm = Matrix::from_rows(3, 4, w.iter().map(|&x| i128::from(x)).collect());
    let want = run_core(&params_of(cfg.lif.as_ref().unwrap(), None), &sm, &wm);
    assert_eq!(u, want.u);
    assert_eq!(npugen::npy::read(&d.join("run/v.npy")).unwrap(), want.v);
    assert_eq!(
        npugen::npy::read(&d.join("run/spikes.npy")).unwrap(),
        want.spikes
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run/report.json")).unwrap()).unwrap();
    assert_eq!(r["matches_model"], true);
    assert_eq!(r["step_cycles"], r["formula_step_cycles"]);
    // --model-only writes the same trace without Verilator.
    let o = run(npugen().current_dir(d).args([
        "lif",
        "snn.toml",
        "--spikes",
        "S.npy",
        "--weights",
        "W.npy",
        "--out",
        "m",
        "--model-only",
    ]));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(npugen::npy::read(&d.join("m/u.npy")).unwrap(), want.u);
    // Bad inputs: exit 2, nothing written.
    std::fs::write(d.join("S2.npy"), npy_bytes("|u1", 1, 3, &[0, 2, 0])).unwrap();
    std::fs::write(d.join("W2.npy"), npy_bytes("|i1", 2, 4, &[0; 8])).unwrap();
    for (args, needle) in [
        (vec!["--spikes", "S2.npy", "--weights", "W.npy"], "0 or 1"),
        (
            vec!["--spikes", "S.npy", "--weights", "W2.npy"],
            "is not (3, 4)",
        ),
        (
            vec!["--spikes", "S.npy", "--weights", "W.npy", "--bias", "W.npy"],
            "per_neuron_bias",
        ),
    ] {
        let o = run(npugen()
            .current_dir(d)
            .args(["lif", "snn.toml"])
            .args(&args)
            .args(["--out", "bad"]));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{args:?}: {}",
            text(&o)
        );
        assert!(!d.join("bad").exists());
    }
}

#[test]
fn every_lif_example_cosimulates() {
    // Regression: snn32 and tpu16_snn were parsed, never simulated.
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed = {seed} (replay with NPUGEN_SEED={seed})");
    let lifs: Vec<Config> = common::examples()
        .into_iter()
        .filter_map(|(_, c)| c.lif.clone().map(|l| lif_cfg(&c.name, l)))
        .collect();
    let names: Vec<&str> = lifs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["snn32", "tpu_snn"]);
    let failures = parallel(&lifs, |c| check(c, seed));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The spiking core `name` of `l` with the assign to `target` in module `<top><module>`
/// replaced by `f(old expression)`; still well formed, so only a comparison can catch it.
fn mutated(
    l: &LifConfig,
    name: &str,
    module: &str,
    target: &str,
    f: impl FnOnce(npugen::rtl::Expr) -> npugen::rtl::Expr,
) -> npugen::rtl::Design {
    let mut design = npugen::gen::generate_lif(&lif_cfg(name, l.clone())).unwrap();
    let module = format!("{}{module}", design.top);
    let m = design.module_mut(&module).expect("module");
    let a = m
        .assigns
        .iter_mut()
        .find(|a| a.target == target)
        .unwrap_or_else(|| panic!("{module} assigns no {target}"));
    a.expr = f(a.expr.clone());
    npugen::rtl::check_design(&design).expect("still well formed");
    design
}

#[test]
fn broken_lif_neuron_is_caught() {
    // A mutation like broken_pe_is_caught: the LSB of every lane's next current flipped. The
    // design stays well formed, so only the comparison with the model can tell.
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    use npugen::rtl::{Const, Expr};
    let l = LifConfig {
        neurons: 6,
        axons: 4,
        parallel: 2,
        ..LifConfig::default()
    };
    let design = mutated(&l, "lif_broken", "_neuron", "u_next", |e| {
        let ty = e.ty();
        e.xor(Expr::Const(Const::from_i128(1, ty)))
    });
    let build = build_model(&design, TraceFormat::Vcd, &sim_cache()).unwrap();
    let mut rng = Rng::new(5);
    let (spikes, weights, bias) = network(&mut rng, &l, 6, 50);
    let want = run_core(&params_of(&l, bias.as_deref()), &spikes, &weights);
    let mut sim = Verilated::load(&build).unwrap();
    let got = run_lif(&l, &mut sim, &spikes, &weights, bias.as_deref(), None).unwrap();
    let diff = first_difference(&want, &got.trace);
    let (step, _, field, _, _) = diff.expect("the broken neuron must be caught");
    assert_eq!((step, field), (0, "u"), "caught at the first step, in u");
}

#[test]
fn lif_handshake_mutations_are_caught() {
    // Two mutations whose states stay right, so only the cycle-by-cycle port comparison can
    // tell: an event ready that waits for IDLE (no overlap with the last group: one cycle more
    // per event), and an output FIFO that never sees itself drained (one stale beat after the
    // last one, which only the drain tail shows: a single step is run).
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    use npugen::rtl::{Expr, Ty};
    use npugen::sim::lif::LifRunError;
    let l = LifConfig {
        neurons: 4,
        axons: 3,
        parallel: 2,
        ..LifConfig::default()
    };
    let mutations: [(&str, &str, usize); 2] =
        [("late_ready", "s_tready", 3), ("stale_beat", "n_tvalid", 1)];
    let outcome = parallel(&mutations, |&(what, port, steps)| {
        let name = format!("lif_{what}");
        let design = match what {
            "late_ready" => mutated(&l, &name, "", "s_tready", |_| {
                Expr::sig("w_done", Ty::BIT).and(Expr::sig("idle", Ty::BIT))
            }),
            _ => mutated(&l, &name, "_nfifo", "drained", |_| Expr::bit_const(false)),
        };
        let build =
            build_model(&design, TraceFormat::Vcd, &sim_cache()).map_err(|e| e.to_string())?;
        let mut rng = Rng::new(9);
        let (mut spikes, weights, _) = network(&mut rng, &l, steps, 60);
        *spikes.at_mut(0, 0) = 1;
        let want = run_core(&params_of(&l, None), &spikes, &weights);
        let mut sim = Verilated::load(&build).map_err(|e| e.to_string())?;
        match run_lif(&l, &mut sim, &spikes, &weights, None, None) {
            Err(LifRunError::Port {
                port: p,
                rtl,
                model,
                cycle,
            }) if p == port => {
                eprintln!("{what}: caught at cycle {cycle}: {p} RTL {rtl}, model {model}");
                Ok(())
            }
            Err(e) => Err(format!("{what}: wrong error {e}")),
            Ok(run) => Err(format!(
                "{what}: not caught (states equal: {})",
                first_difference(&want, &run.trace).is_none()
            )),
        }
    });
    assert!(outcome.is_empty(), "{}", outcome.join("\n"));
}
