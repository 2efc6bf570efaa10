//! insta snapshots of small designs, one per feature, named after their parameters. They catch
//! unintended change in the emitted text; correctness is the co-simulation's job.

use npugen::config::{ArrayConfig, Config, Dataflow};
use npugen::emit::{manifest::manifest_json, verilog::design_to_verilog};

fn cfg(name: &str, rows: u32, cols: u32, dataflow: Dataflow, bits: u32, signed: bool) -> Config {
    Config {
        name: name.into(),
        array: Some(ArrayConfig {
            rows,
            cols,
            dataflow,
            input_bits: bits,
            weight_bits: bits,
            acc_bits: None,
            signed,
            out_fifo_depth: None,
            pipeline: 0,
            dsp_pes: None,
        }),
        postproc: None,
        lif: None,
        npu: None,
    }
}

fn snapshot(c: &Config) {
    if c.array.is_none() {
        let d = npugen::gen::generate_lif(c).expect("valid config");
        insta::assert_snapshot!(format!("{}_verilog", c.name), design_to_verilog(&d));
        let m = npugen::emit::manifest::lif_manifest_json(c, &d, &[format!("{}.v", d.top)]);
        insta::assert_snapshot!(format!("{}_manifest", c.name), m);
        return;
    }
    let d = npugen::generate(c).expect("valid config");
    insta::assert_snapshot!(format!("{}_verilog", c.name), design_to_verilog(&d));
    insta::assert_snapshot!(
        format!("{}_manifest", c.name),
        manifest_json(c, &d, &[format!("{}.v", c.name)])
    );
}

#[test]
fn os_2x2_s8() {
    snapshot(&cfg("os_2x2_s8", 2, 2, Dataflow::Os, 8, true));
}

#[test]
fn ws_2x3_s8() {
    snapshot(&cfg("ws_2x3_s8", 2, 3, Dataflow::Ws, 8, true));
}

#[test]
fn os_3x2_u4() {
    snapshot(&cfg("os_3x2_u4", 3, 2, Dataflow::Os, 4, false));
}

fn core(name: &str, text: &str) -> Config {
    Config::load(&format!("name = \"{name}\"\n{text}"), name).expect("valid")
}

#[test]
fn npu_core_os_2x2_relu() {
    snapshot(&core(
        "npu_core_os_2x2_relu",
        "[array]\nrows = 2\ncols = 2\n[postproc]\nscale = 0.00731\nzero_point = -5\nactivation = \"relu\"\n",
    ));
}

#[test]
fn npu_core_ws_2x2_sigmoid_u4() {
    snapshot(&core(
        "npu_core_ws_2x2_sigmoid_u4",
        "[array]\nrows = 2\ncols = 2\ndataflow = \"ws\"\n[postproc]\nout_bits = 4\nout_signed = false\nscale = [0.01, 0.02]\nactivation = \"sigmoid\"\nlut_input_scale = 0.5\n",
    ));
}

#[test]
fn lif_4n_3a_p2_bias() {
    snapshot(&core(
        "lif_4n_3a_p2_bias",
        "[lif]\nneurons = 4\naxons = 3\nweight_bits = 6\nparallel = 2\ndu = 410\ndv = 205\nvth = 100\nbias_exp = 3\nper_neuron_bias = true\n",
    ));
}

/// The npu: every file `generate` writes (Verilog, file list, C header, manifest).
#[test]
fn npu_ws_2x2_axi64() {
    let c = core(
        "npu_ws_2x2_axi64",
        "[array]\nrows = 2\ncols = 2\ndataflow = \"ws\"\n[postproc]\n[npu]\nact_kib = 1\nweight_kib = 1\nout_kib = 1\nparam_rows = 2\nacc_rows = 8\naxi_data_bits = 64\n",
    );
    let (_, files) = npugen::commands::generate_files(&c, false).expect("valid config");
    let text: String = files
        .iter()
        .map(|f| format!("== {}\n{}", f.name, f.contents))
        .collect();
    insta::assert_snapshot!("npu_ws_2x2_axi64", text);
}

/// The constraints and project files `npugen synth` writes, one per format.
#[test]
fn flow_files_2x2() {
    use npugen::emit::{constraints, fusesoc, scripts};
    use npugen::flow::targets::Target;
    let c = cfg("flow_2x2", 2, 2, Dataflow::Os, 8, true);
    let d = npugen::generate(&c).expect("valid config");
    let (h, top) = (&d.header, d.top.as_str());
    let v = npugen::gen::VERSION;
    for (target, label) in [
        (Target::Xc7, "xdc"),
        (Target::CycloneV, "sdc"),
        (Target::Ice40Up5k, "pcf"),
        (Target::Ecp5_45k, "lpf"),
    ] {
        let cons = constraints::file_name(top, target);
        let text = format!(
            "== {cons}\n{}\n== {top}.core\n{}\n== {top}.ys\n{}",
            constraints::constraints(h, target, 150.0),
            fusesoc::synth_core(
                h,
                fusesoc::SynthCore {
                    top,
                    target,
                    constraints: &cons,
                    freq_mhz: 150.0,
                    harness: target.nextpnr().map(|_| "flow_2x2_qor"),
                },
                v
            ),
            npugen::flow::yosys::script(target, &format!("{top}.v"), top, Some(4), false),
        );
        insta::assert_snapshot!(format!("flow_2x2_{label}"), text);
    }
    insta::assert_snapshot!(
        "flow_2x2_vivado_tcl",
        scripts::vivado_tcl(h, top, Target::Xc7, "flow_2x2.xdc")
    );
    let ports: Vec<(String, u32)> = d
        .top_module()
        .ports
        .iter()
        .map(|p| (p.name.clone(), p.ty.width))
        .collect();
    insta::assert_snapshot!(
        "flow_2x2_quartus_qsf",
        format!(
            "{}\n== flow_2x2.qpf\n{}",
            scripts::quartus_qsf(h, top, Target::Max10, "flow_2x2.sdc", &ports),
            scripts::quartus_qpf(h, top)
        )
    );
    // The testbench's FuseSoC core (lint and sim targets, vectors copied into the build).
    insta::assert_snapshot!(
        "flow_2x2_testbench_core",
        fusesoc::testbench_core(
            h,
            top,
            &["flow_2x2_a.hex".into(), "flow_2x2_b.hex".into()],
            v
        )
    );
}
