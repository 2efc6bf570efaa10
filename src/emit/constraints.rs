//! Timing constraints in each vendor family's own format, with the clock period from the
//! requested frequency. Pins are left to the tools: a generated core is a block inside a
//! larger design, and place and route here uses the four-pin QoR harness.

use crate::flow::targets::{Family, Target};

/// The constraints file name for `top` on `target`.
pub fn file_name(top: &str, target: Target) -> String {
    let ext = match target.family() {
        Family::Xilinx => "xdc",
        Family::Intel => "sdc",
        Family::Ice40 => "pcf",
        Family::Ecp5 => "lpf",
    };
    format!("{top}.{ext}")
}

/// The constraints text: `header` lines as comments, then the clock on port `clk`.
pub fn constraints(header: &[String], target: Target, freq_mhz: f64) -> String {
    let period = 1000.0 / freq_mhz;
    let mut s = String::new();
    for l in header {
        s.push_str(&format!("# {l}\n").replace("# \n", "#\n"));
    }
    s.push_str(&format!(
        "# Clock {freq_mhz} MHz on port clk; pins are not assigned.\n"
    ));
    match target.family() {
        Family::Xilinx => s.push_str(&format!(
            "create_clock -period {period:.3} -name clk [get_ports clk]\n"
        )),
        Family::Intel => s.push_str(&format!(
            "create_clock -name clk -period {period:.3} [get_ports {{clk}}]\nderive_clock_uncertainty\n"
        )),
        Family::Ice40 => s.push_str(&format!("set_frequency clk {freq_mhz}\n")),
        Family::Ecp5 => s.push_str(&format!("FREQUENCY PORT \"clk\" {freq_mhz} MHZ;\n")),
    }
    s
}
