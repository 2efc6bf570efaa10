//! Port descriptions and the timing sketch of the top module. The same text goes into the
//! Verilog module comment and the manifest, so the two cannot disagree.

use crate::config::{ArrayConfig, PostprocConfig};
use crate::timing;

/// OS `a_tdata`.
pub const OS_A_TDATA: &str = "A column k of the tile: lane i (bits [i*IB +: IB]) = A[i][k]";
/// OS `a_tlast`.
pub const OS_A_TLAST: &str = "beat k = K-1, the tile's last: its R result rows follow on c";
/// OS `b_tdata`.
pub const OS_B_TDATA: &str = "B row k of the tile: lane j (bits [j*WB +: WB]) = B[k][j]";
/// WS `w_tdata`.
pub const WS_W_TDATA: &str =
    "weight tile row k (k = 0 first): lane j (bits [j*WB +: WB]) = B[k][j]";
/// WS `w_tlast`.
pub const WS_W_TLAST: &str = "optional early end of a weight tile: the remaining rows are zero";
/// WS `a_tdata`.
pub const WS_A_TDATA: &str = "A row m: lane i (bits [i*IB +: IB]) = A[m][k0 + i]";
/// WS `a_tlast`.
pub const WS_A_TLAST: &str = "last A row for the current weights; the next row uses the next tile";
/// `c_tdata`.
pub const C_TDATA: &str = "result row r: lane j (bits [j*AB +: AB]) = C[r][j], wrapped to AB bits";
/// `c_tdata` of an npu_core.
pub const Y_TDATA: &str = "post-processed row r: lane j (bits [j*OB +: OB]) = y[r][j]";
/// `param_tdata`.
pub const PARAM_TDATA: &str =
    "parameters of the tile's columns: column j's record in bits [j*160 +: 160] (README: run-time parameters)";
/// `param_tready`.
pub const PARAM_TREADY: &str = "parameters accepted, together with the tile's committing A beat";
/// `c_tvalid`.
pub const C_TVALID: &str = "result row valid";
/// `c_tready`.
pub const C_TREADY: &str = "result row accepted; may be low for any time, the array never stalls";
/// OS `c_tlast`.
pub const OS_C_TLAST: &str = "last row (R-1) of a tile";
/// WS `c_tlast`.
pub const WS_C_TLAST: &str = "result row of the A row that had a_tlast";

fn shape(cfg: &ArrayConfig) -> String {
    let s = if cfg.signed { "signed" } else { "unsigned" };
    format!(
        "R x C = {} x {} PEs, {s} {}-bit A x {}-bit B into {}-bit accumulators (wrapping).",
        cfg.rows,
        cfg.cols,
        cfg.input_bits,
        cfg.weight_bits,
        cfg.acc_bits()
    )
}

/// What post-processing adds to the timing notes.
fn post_lines(post: Option<&PostprocConfig>, commit: &str) -> Vec<String> {
    match post {
        None => Vec::new(),
        Some(p) => vec![
            String::new(),
            format!(
                "npu_core: each result goes through bias, requantization as LiteRT's \"{}\" path",
                p.rounding.as_str()
            ),
            format!(
                "({}-bit outputs) and {} in a {}-cycle pipeline (included above).",
                p.out_bits,
                if p.activation.is_lut() {
                    format!("the clamp and the {} table", p.activation.as_str())
                } else {
                    "the clamp to the run-time bounds".to_string()
                },
                timing::postproc_latency(p.rounding),
            ),
            "One parameter beat per tile (bias, scale, zero point and bounds of each column) is taken"
                .to_string(),
            format!(
                "with the tile's {commit}; up to {} tiles may be in flight.",
                timing::BIAS_QUEUE_DEPTH
            ),
        ],
    }
}

/// Port timing of the output-stationary top, as comment lines.
pub(crate) fn os_waveform(cfg: &ArrayConfig, post: Option<&PostprocConfig>) -> Vec<String> {
    let lat = timing::os_first_row_latency(cfg) + timing::post_latency(post);
    let gap = timing::os_min_last_gap(cfg);
    vec![
        "Output-stationary systolic MAC array.".into(),
        shape(cfg),
        "One tile: C (R x C) = A (R x K) * B (K x C), K = beats up to and including a_tlast."
            .into(),
        String::new(),
        "A and B beats are taken together (a_tready = b_tready). Cycle c = last beat accepted:"
            .into(),
        "  clk      _/~\\_/~\\_/~\\_/~\\_ .. _/~\\_/~\\_/~\\_/~\\_/~\\_/~\\_".into(),
        "  a,b beat =<k=0>=<k=1>=..=<K-1>=<next tile ...".into(),
        "  a_tlast  ____________/~~~\\________________________".into(),
        "  c_tvalid _____________________ .. _/~~~\\___/~~~\\__ (row 0, row 1, ...)".into(),
        format!("  row i of the tile leaves in cycle c + {lat} + 2*i; c_tlast marks row R-1."),
        format!("A tile's last beat waits until {gap} cycles after the previous one and until the"),
        "output FIFO has room for R rows; other beats are never held. Bubbles are allowed.".into(),
    ]
    .into_iter()
    .chain(post_lines(post, "last beat (a_tlast)"))
    .collect()
}

/// Port timing of the weight-stationary top, as comment lines.
pub(crate) fn ws_waveform(cfg: &ArrayConfig, post: Option<&PostprocConfig>) -> Vec<String> {
    let lat = timing::ws_row_latency(cfg) + timing::post_latency(post);
    let free = timing::ws_shadow_free_after(cfg);
    vec![
        "Weight-stationary systolic MAC array.".into(),
        shape(cfg),
        "A weight tile B (R x C) is loaded row by row, then rows of A (1 x R) stream through;"
            .into(),
        "each A row gives one result row (1 x C) = A row * B tile.".into(),
        String::new(),
        "  clk      _/~\\_/~\\_/~\\_/~\\_/~\\_/~\\_/~\\_ ..".into(),
        "  w beat   =<k=0>=..=<R-1>==============<next tile, double-buffered ..".into(),
        "  a beat   ______________=<m=0>=<m=1>=..=<last, a_tlast>=<next tile's rows".into(),
        format!("  c_tvalid  one row per A row, {lat} cycles after it was accepted."),
        format!(
            "The next tile's weights shift in from {free} cycles after the current tile's first"
        ),
        "A row, while it computes; the first A row after a_tlast waits for a full weight tile."
            .into(),
        "Every A row needs room for one row in the output FIFO. Bubbles are allowed.".into(),
    ]
    .into_iter()
    .chain(post_lines(post, "first A row"))
    .collect()
}
