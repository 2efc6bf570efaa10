//! Project files for the tools a user runs themselves: the nextpnr command line, a Vivado
//! non-project Tcl script and a Quartus project (FuseSoC cores: [`super::fusesoc`]).

use crate::flow::targets::Target;

/// One argv as a shell command line (arguments quoted when needed).
pub(crate) fn command_line(argv: &[String]) -> String {
    let quoted: Vec<String> = argv
        .iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect();
    quoted.join(" ")
}

/// The design header as comment lines starting with `mark` (shared by every script emitter).
pub(crate) fn comment(header: &[String], mark: &str) -> String {
    header
        .iter()
        .map(|l| {
            if l.is_empty() {
                format!("{mark}\n")
            } else {
                format!("{mark} {l}\n")
            }
        })
        .collect()
}

/// Vivado non-project flow: out-of-context synthesis (no pins), place, route, checkpoints,
/// utilization, DRC and timing reports, and a nonzero exit when timing is not met.
pub fn vivado_tcl(header: &[String], top: &str, target: Target, xdc: &str) -> String {
    format!(
        "{}# Vivado non-project flow. Run: vivado -mode batch -source vivado.tcl\n\
         # Out of context: the core's buses are not pins. Exits 1 if timing is not met.\n\
         read_verilog {top}.v\n\
         read_xdc {xdc}\n\
         synth_design -top {top} -part {part} -mode out_of_context\n\
         write_checkpoint -force post_synth.dcp\n\
         opt_design\n\
         place_design\n\
         route_design\n\
         write_checkpoint -force post_route.dcp\n\
         report_utilization -file utilization.rpt\n\
         report_drc -file drc.rpt\n\
         report_timing_summary -file timing.rpt\n\
         set wns [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -setup]]\n\
         if {{$wns eq \"\"}} {{ puts \"npugen: no timed path found\"; exit 1 }}\n\
         if {{$wns < 0}} {{\n\
         \x20 puts \"npugen: timing NOT met: worst setup slack $wns ns (see timing.rpt)\"\n\
         \x20 exit 1\n\
         }}\n\
         puts \"npugen: timing met: worst setup slack $wns ns\"\n",
        comment(header, "#"),
        part = target.part()
    )
}

/// Quartus project file (.qpf) naming the one revision.
pub fn quartus_qpf(header: &[String], top: &str) -> String {
    format!(
        "{}# Quartus project. Run: quartus_sh --flow compile {top}\nPROJECT_REVISION = \"{top}\"\n",
        comment(header, "#")
    )
}

/// Quartus settings (.qsf) for the reference part. Every port but the clock is a virtual pin:
/// the core's buses have more bits than the packages have pins.
pub fn quartus_qsf(
    header: &[String],
    top: &str,
    target: Target,
    sdc: &str,
    ports: &[(String, u32)],
) -> String {
    let family = match target {
        Target::Max10 => "MAX 10",
        _ => "Cyclone V",
    };
    let mut s = format!(
        "{}# Quartus project settings. Run: quartus_sh --flow compile {top}\n\
         set_global_assignment -name FAMILY \"{family}\"\n\
         set_global_assignment -name DEVICE {part}\n\
         set_global_assignment -name TOP_LEVEL_ENTITY {top}\n\
         set_global_assignment -name VERILOG_FILE {top}.v\n\
         set_global_assignment -name SDC_FILE {sdc}\n\
         set_global_assignment -name PROJECT_OUTPUT_DIRECTORY output_files\n\
         # Virtual pins: only clk is placed on a device pin.\n",
        comment(header, "#"),
        part = target.part()
    );
    for (p, width) in ports.iter().filter(|(p, _)| p.as_str() != "clk") {
        let bits = if *width > 1 { "[*]" } else { "" };
        s.push_str(&format!(
            "set_instance_assignment -name VIRTUAL_PIN ON -to {p}{bits}\n"
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_quote_what_needs_it() {
        let argv = ["nextpnr-ecp5", "--freq", "150", "--lpf", "a b.lpf"].map(String::from);
        assert_eq!(
            command_line(&argv),
            "nextpnr-ecp5 --freq 150 --lpf 'a b.lpf'"
        );
    }
}
