//! What each config key allows, in words: used when a value does not even have the right type
//! (`rows = -1`, `rows = 1979-05-27`, `scale = "0.01"`), so that the message names the field,
//! the value as written and the allowed range, like the range checks in `validate()` do.

/// The allowed values of each key, as the README's config reference states them.
const ALLOWED: &[(&str, &str)] = &[
    (
        "name",
        "a string: a Verilog identifier, at most 64 characters",
    ),
    ("array", "a table ([array])"),
    ("array.rows", "an integer in 1..=256"),
    ("array.cols", "an integer in 1..=256"),
    ("array.dataflow", "\"os\" or \"ws\""),
    ("array.input_bits", "an integer in 2..=32"),
    ("array.weight_bits", "an integer in 2..=32"),
    (
        "array.acc_bits",
        "an integer in input_bits + weight_bits..=128",
    ),
    ("array.signed", "true or false"),
    ("array.out_fifo_depth", "a power of two in 2..=65536"),
    ("array.pipeline", "an integer in 0..=3"),
    ("array.dsp_pes", "an integer in 0..=rows * cols"),
    ("postproc", "a table ([postproc])"),
    ("postproc.out_bits", "an integer in 2..=16"),
    ("postproc.out_signed", "true or false"),
    (
        "postproc.scale",
        "a positive number, or a list of them, one per output column",
    ),
    ("postproc.input_scale", "a positive float32"),
    (
        "postproc.weight_scale",
        "a positive float32, or a list of them, one per output column",
    ),
    ("postproc.output_scale", "a positive float32"),
    ("postproc.zero_point", "an integer in the output range"),
    ("postproc.input_zero_point", "an integer in A's range"),
    (
        "postproc.activation",
        "\"none\", \"relu\", \"relu6\", \"clamp\", \"leaky_relu\", \"sigmoid\" or \"tanh\"",
    ),
    ("postproc.clamp_min", "an integer in the output range"),
    ("postproc.clamp_max", "an integer in the output range"),
    ("postproc.leaky_shift", "an integer in 1..=16"),
    ("postproc.leaky_alpha", "a number 0 < alpha < 1"),
    ("postproc.lut_input_scale", "a number > 0"),
    (
        "postproc.rounding",
        "\"reference\", \"optimized\", \"xnnpack\" or \"gemmlowp\"",
    ),
    ("lif", "a table ([lif])"),
    ("lif.neurons", "an integer in 1..=4096"),
    ("lif.axons", "an integer in 1..=4096"),
    ("lif.weight_bits", "an integer in 2..=16"),
    ("lif.parallel", "an integer in 1..=neurons"),
    ("lif.du", "an integer in 0..=4095"),
    ("lif.dv", "an integer in 0..=4095"),
    ("lif.vth", "an integer in 0..=131071"),
    ("lif.bias_mant", "an integer in -4096..=4095"),
    ("lif.bias_exp", "an integer in 0..=7"),
    ("lif.per_neuron_bias", "true or false"),
    ("npu", "a table ([npu])"),
    ("npu.act_kib", "an integer in 1..=8192"),
    ("npu.weight_kib", "an integer in 1..=8192"),
    ("npu.out_kib", "an integer in 1..=8192"),
    ("npu.param_rows", "an integer in 1..=65536"),
    ("npu.acc_rows", "an integer in 1..=65536"),
    ("npu.axi_data_bits", "64, 128 or 256"),
    ("npu.axi_addr_bits", "32 or 64"),
];

/// What `field` (a dotted path such as `array.rows`) allows, if it is a known key.
pub fn allowed(field: &str) -> Option<&'static str> {
    ALLOWED.iter().find(|(k, _)| *k == field).map(|(_, a)| *a)
}

/// The value at dotted `field` in the TOML `text`, as TOML writes it (`-1`, `"0.01"`,
/// `1979-05-27`), if the text parses and has it.
pub(crate) fn value_text(text: &str, field: &str) -> Option<String> {
    let table: toml::Table = text.parse().ok()?;
    let mut parts = field.split('.');
    let mut v = table.get(parts.next()?)?;
    for p in parts {
        v = v.as_table()?.get(p)?;
    }
    let shown = match v {
        toml::Value::Table(_) => "a table".to_string(),
        other => other.to_string(),
    };
    Some(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_the_default_config_is_described() {
        let full = crate::config::Config {
            postproc: Some(crate::config::PostprocConfig {
                clamp_min: Some(0),
                clamp_max: Some(127),
                lut_input_scale: Some(0.0625),
                leaky_alpha: Some(0.1),
                scale: Some(crate::config::Scale::PerTensor(0.1)),
                input_scale: Some(0.1),
                weight_scale: Some(crate::config::Scale::PerTensor(0.1)),
                output_scale: Some(0.1),
                ..Default::default()
            }),
            lif: Some(crate::config::LifConfig::default()),
            npu: Some(crate::config::NpuConfig::default()),
            ..Default::default()
        };
        let mut section = String::new();
        for line in full.to_toml().lines() {
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = format!("{s}.");
                assert!(allowed(s).is_some(), "{s}");
            } else if let Some((k, _)) = line.split_once(" = ") {
                let key = format!("{section}{k}");
                assert!(allowed(&key).is_some(), "{key} has no allowed-range text");
            }
        }
        assert!(allowed("array.dsp_pes").is_some());
    }

    #[test]
    fn integer_ranges_agree_with_validate() {
        // The table repeats validate()'s ranges in words; this keeps the two from drifting:
        // one past each end of every fixed range must be refused naming that same range.
        for (key, text) in ALLOWED {
            let Some(range) = text.strip_prefix("an integer in ") else {
                continue;
            };
            let Some((lo, hi)) = range.split_once("..=") else {
                continue;
            };
            let (Ok(lo), Ok(hi)) = (lo.parse::<i64>(), hi.parse::<i64>()) else {
                continue; // a range that depends on other fields (acc_bits, dsp_pes, parallel)
            };
            let (section, field) = key.split_once('.').unwrap();
            for v in [lo - 1, hi + 1] {
                if v < 0 && !range.starts_with('-') {
                    continue; // not even representable: the type error path, tested elsewhere
                }
                let toml = format!("[{section}]\n{field} = {v}\n");
                let e = crate::config::Config::load(&toml, "t")
                    .unwrap_err()
                    .to_string();
                assert!(e.contains(range), "{key} = {v}: {e} (table says {range})");
            }
        }
    }

    #[test]
    fn values_are_shown_as_written() {
        let t = "[array]\nrows = 1979-05-27\n[postproc]\nscale = \"0.01\"\n";
        assert_eq!(value_text(t, "array.rows").as_deref(), Some("1979-05-27"));
        assert_eq!(value_text(t, "postproc.scale").as_deref(), Some("\"0.01\""));
        assert_eq!(value_text(t, "array.cols"), None);
    }
}
