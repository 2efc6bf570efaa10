//! The module names of an array design, derived from the design name (shared by the top and
//! the grid generators).

/// Names of the modules a design is made of.
pub struct Names {
    /// Top module.
    pub top: String,
    /// Processing element.
    pub pe: String,
    /// Processing element with a logic (shift-add) multiplier, beyond the DSP budget.
    pub pe_lut: String,
    /// Output FIFO.
    pub fifo: String,
    /// Post-processing pipeline (npu_core).
    pub post: String,
    /// Bias queue (npu_core).
    pub paramq: String,
}

impl Names {
    /// Module names derived from the design name.
    pub fn new(name: &str) -> Names {
        Names {
            top: name.to_string(),
            pe: format!("{name}_pe"),
            pe_lut: format!("{name}_pe_lut"),
            fifo: format!("{name}_ofifo"),
            post: format!("{name}_postproc"),
            paramq: format!("{name}_paramq"),
        }
    }
}
