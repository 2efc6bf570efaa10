//! Generation over the whole config range (IR checker only, no external tools), structure of
//! the emitted hierarchy, determinism and regressions.

use npugen::config::{ArrayConfig, Config, Dataflow};
use npugen::emit::verilog::design_to_verilog;
use npugen::rtl::Conn;

fn cfg(rows: u32, cols: u32, dataflow: Dataflow, ib: u32, wb: u32, acc: Option<u32>) -> Config {
    Config {
        name: "t".into(),
        array: Some(ArrayConfig {
            rows,
            cols,
            dataflow,
            input_bits: ib,
            weight_bits: wb,
            acc_bits: acc,
            signed: true,
            out_fifo_depth: None,
            pipeline: 0,
            dsp_pes: None,
        }),
        postproc: None,
        lif: None,
        npu: None,
    }
}

#[test]
fn range_corners_generate_and_check() {
    for df in [Dataflow::Os, Dataflow::Ws] {
        for (r, c) in [(1, 1), (1, 2), (2, 1), (256, 1), (1, 256), (3, 5)] {
            for (ib, wb, acc) in [
                (2, 2, None),
                (32, 32, Some(128)),
                (2, 32, Some(34)),
                (8, 8, Some(16)),
            ] {
                let conf = cfg(r, c, df, ib, wb, acc);
                let d = npugen::generate(&conf).unwrap_or_else(|e| panic!("{conf:?}: {e}"));
                assert_eq!(d.modules.len(), 3);
            }
        }
    }
}

#[test]
fn one_pe_module_instantiated_rows_times_cols() {
    for df in [Dataflow::Os, Dataflow::Ws] {
        let d = npugen::generate(&cfg(5, 7, df, 8, 8, None)).unwrap();
        let top = d.top_module();
        let pes = top.instances.iter().filter(|i| i.module == "t_pe").count();
        assert_eq!(pes, 35);
        let v = design_to_verilog(&d);
        assert_eq!(
            v.matches("\nmodule ").count(),
            3,
            "one module per kind, not per instance"
        );
    }
}

#[test]
fn generation_is_deterministic() {
    for df in [Dataflow::Os, Dataflow::Ws] {
        let c = cfg(6, 4, df, 8, 8, None);
        let a = design_to_verilog(&npugen::generate(&c).unwrap());
        let b = design_to_verilog(&npugen::generate(&c).unwrap());
        assert_eq!(a, b);
    }
}

#[test]
fn verilog_size_grows_with_pe_count() {
    let size = |n| {
        design_to_verilog(&npugen::generate(&cfg(n, n, Dataflow::Os, 8, 8, None)).unwrap()).len()
            as f64
    };
    let ratio = size(32) / size(16);
    assert!(
        (3.5..4.6).contains(&ratio),
        "32x32 / 16x16 size ratio {ratio}"
    );
}

/// Yosys 0.23 asserts (genrtlil.cc:1965) on `$signed(...)` in a port connection, which a
/// one-column array produced by feeding a lane straight into a PE.
#[test]
fn regression_yosys_signed_expression_in_port_connection() {
    for df in [Dataflow::Os, Dataflow::Ws] {
        let d = npugen::generate(&cfg(6, 1, df, 4, 30, Some(50))).unwrap();
        for m in &d.modules {
            for inst in &m.instances {
                for (port, conn) in &inst.conns {
                    if let Conn::Input(e) = conn {
                        assert!(
                            matches!(
                                e,
                                npugen::rtl::Expr::Ref { .. } | npugen::rtl::Expr::Const(_)
                            ),
                            "{}.{port} is driven by an expression",
                            inst.name
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_port_the_harness_does_not_compare_is_an_error() {
    // Regression: the compared ports were a hand-written list; a new output went unchecked.
    use npugen::rtl::{Dir, Port, Ty};
    use npugen::sim::array_dut::check_ports;
    use npugen::sim::ports::PortLayout;
    for (name, post) in [("plain", false), ("core", true)] {
        let mut toml = format!("name = \"{name}\"\n[array]\nrows = 2\ncols = 2\n");
        if post {
            toml.push_str("[postproc]\nscale = 0.01\n");
        }
        let cfg = Config::load(&toml, "t").unwrap();
        let mut design = npugen::generate(&cfg).unwrap();
        let layout = PortLayout::of(design.top_module());
        check_ports(&layout, cfg.array(), cfg.postproc.as_ref()).expect("every port handled");
        let top = design.top.clone();
        let m = design.module_mut(&top).unwrap();
        m.ports.push(Port {
            name: "dbg_state".into(),
            dir: Dir::Output,
            ty: Ty::unsigned(3),
            doc: String::new(),
        });
        let e = check_ports(
            &PortLayout::of(design.top_module()),
            cfg.array(),
            cfg.postproc.as_ref(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("output dbg_state (3 bits)"), "{e}");
    }
}
