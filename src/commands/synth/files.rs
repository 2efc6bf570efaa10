//! The files `npugen synth` writes before running any tool: the core's Verilog, constraints
//! and Yosys script, its FuseSoC core, the vendor project files, and for place and route the
//! four-pin QoR harness with its script and the nextpnr command line.

use super::SynthArgs;
use crate::emit::{constraints, fusesoc, scripts, verilog::design_to_verilog, OutputFile};
use crate::flow::targets::Family;
use crate::flow::{nextpnr, yosys};
use crate::gen;
use crate::rtl::Design;

/// What a run writes, and the place-and-route command it will run.
pub(super) struct Plan {
    pub(super) files: Vec<OutputFile>,
    /// nextpnr's arguments (ECP5, iCE40).
    pub(super) pnr_argv: Option<Vec<String>>,
    /// The QoR harness's top module.
    pub(super) harness_top: String,
}

/// Every file of a run on `design`; `dsp_expected` is the DSP count the Yosys script asserts.
pub(super) fn plan(args: &SynthArgs, design: &Design, dsp_expected: Option<u64>) -> Plan {
    let (target, top) = (args.target, &design.top);
    let cons = constraints::file_name(top, target);
    let harness_top = gen::harness::harness_name(top);
    let mut files = vec![
        OutputFile {
            name: format!("{top}.v"),
            contents: design_to_verilog(design),
        },
        OutputFile {
            name: cons.clone(),
            contents: constraints::constraints(&design.header, target, args.freq_mhz),
        },
        OutputFile {
            name: format!("{top}.ys"),
            contents: yosys::script(target, &format!("{top}.v"), top, dsp_expected, false),
        },
        OutputFile {
            name: format!("{top}.core"),
            contents: fusesoc::synth_core(
                &design.header,
                fusesoc::SynthCore {
                    top,
                    target,
                    constraints: &cons,
                    freq_mhz: args.freq_mhz,
                    harness: target.nextpnr().map(|_| harness_top.as_str()),
                },
                gen::VERSION,
            ),
        },
    ];
    files.extend(vendor_files(args, design, &cons));
    let pnr_argv = target.nextpnr().map(|_| {
        let (argv, pnr) = pnr_files(args, design, &cons, &harness_top);
        files.extend(pnr);
        argv
    });
    Plan {
        files,
        pnr_argv,
        harness_top,
    }
}

/// Vivado's Tcl script, or Quartus's `.qsf` and `.qpf`.
fn vendor_files(args: &SynthArgs, design: &Design, cons: &str) -> Vec<OutputFile> {
    let (target, top, header) = (args.target, &design.top, &design.header);
    match target.family() {
        Family::Xilinx => vec![OutputFile {
            name: "vivado.tcl".into(),
            contents: scripts::vivado_tcl(header, top, target, cons),
        }],
        Family::Intel => {
            let ports: Vec<(String, u32)> = design
                .top_module()
                .ports
                .iter()
                .map(|p| (p.name.clone(), p.ty.width))
                .collect();
            vec![
                OutputFile {
                    name: format!("{top}.qsf"),
                    contents: scripts::quartus_qsf(header, top, target, cons, &ports),
                },
                OutputFile {
                    name: format!("{top}.qpf"),
                    contents: scripts::quartus_qpf(header, top),
                },
            ]
        }
        Family::Ice40 | Family::Ecp5 => Vec::new(),
    }
}

/// nextpnr's arguments, and the files for place and route: its command line, the harness's
/// Verilog and Yosys script.
fn pnr_files(
    args: &SynthArgs,
    design: &Design,
    cons: &str,
    harness_top: &str,
) -> (Vec<String>, Vec<OutputFile>) {
    let target = args.target;
    let netlist = if target.family() == Family::Ecp5 {
        "netlist_packed.json"
    } else {
        "netlist.json"
    };
    let argv = nextpnr::argv(target, netlist, cons, args.freq_mhz, args.seed, args.speed)
        .expect("pnr target");
    let harness = harness_design(design);
    let files = vec![
        OutputFile {
            name: "nextpnr.cmd".into(),
            contents: format!(
                "# place and route the four-pin QoR harness {harness_top} (see {harness_top}.ys)\n{}\n",
                scripts::command_line(&argv)
            ),
        },
        OutputFile {
            name: format!("{harness_top}.v"),
            contents: design_to_verilog(&harness),
        },
        OutputFile {
            name: format!("{harness_top}.ys"),
            contents: yosys::script(target, &format!("{harness_top}.v"), harness_top, None, true),
        },
    ];
    (argv, files)
}

/// The core wrapped in its four-pin QoR harness.
fn harness_design(design: &Design) -> Design {
    let mut modules = vec![gen::harness::harness(design.top_module())];
    modules.extend(design.modules.iter().cloned());
    Design {
        top: gen::harness::harness_name(&design.top),
        header: design.header.clone(),
        modules,
    }
}
