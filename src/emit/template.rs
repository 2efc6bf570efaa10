//! Text templates with `${key}` placeholders (Verilog never writes `${`), for emitted files
//! that are mostly fixed text: the text lives in `src/emit/templates/`, readable as the file
//! it becomes.

/// `template` with every `${key}` replaced by its value in `values`. A placeholder without a
/// value, or a value no placeholder uses, is a bug in npugen (templates are compiled in), so
/// it panics; the emitters' tests cover every template.
pub fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut used = vec![false; values.len()];
    let mut rest = template;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let end = tail.find('}').expect("template placeholder is closed");
        let key = &tail[..end];
        let i = values
            .iter()
            .position(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("template placeholder ${{{key}}} has no value"));
        used[i] = true;
        out.push_str(&values[i].1);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    if let Some(i) = used.iter().position(|u| !u) {
        panic!("template value {} is not used", values[i].0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_every_placeholder() {
        let t = "module ${name}; always @(posedge clk) $display(\"${name}=%0d\", ${n}); endmodule";
        let v = [("name", "m".to_string()), ("n", "3".to_string())];
        assert_eq!(
            fill(t, &v),
            "module m; always @(posedge clk) $display(\"m=%0d\", 3); endmodule"
        );
    }

    #[test]
    #[should_panic(expected = "has no value")]
    fn a_missing_value_is_a_bug() {
        fill("${x}", &[]);
    }
}
