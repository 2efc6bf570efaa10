//! `rtl-out/` holds reference designs; each must equal what the generator makes today from
//! the config its manifest records (regenerate with scripts/regen-rtl-out.sh).

mod common;

use npugen::commands::generate_files;
use npugen::config::Config;

#[test]
fn rtl_out_is_current() {
    let dir = common::repo().join("rtl-out");
    let mut manifests: Vec<_> = std::fs::read_dir(&dir)
        .expect("rtl-out/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    manifests.sort();
    let names: Vec<String> = manifests
        .iter()
        .map(|m| m.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    // The default array, a WS array, an npu_core and a spiking core (regression: rtl-out/ had
    // neither of the last two).
    assert_eq!(names, ["core8x8", "npu8x8", "snn32_lif", "tpu16"]);
    for m in manifests {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
        let cfg: Config = serde_json::from_value(json["config"].clone()).expect("manifest config");
        let (_, files) = generate_files(&cfg, false).expect("recorded config is valid");
        for f in files {
            let on_disk = std::fs::read_to_string(dir.join(&f.name))
                .unwrap_or_else(|e| panic!("rtl-out/{}: {e}", f.name));
            assert!(
                on_disk == f.contents,
                "rtl-out/{} is stale: run scripts/regen-rtl-out.sh",
                f.name
            );
        }
    }
}
