//! Identifier rules, the per-module symbol table and a fast hasher for it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::rtl::design::{Dir, Module};
use crate::rtl::expr::Ty;

/// Every reserved keyword of IEEE 1800-2017 (Annex B), which includes all of IEEE 1364-2005's,
/// sorted for binary search. None of them may name a module, port, net or instance.
pub const KEYWORDS: &[&str] = &[
    "accept_on",
    "alias",
    "always",
    "always_comb",
    "always_ff",
    "always_latch",
    "and",
    "assert",
    "assign",
    "assume",
    "automatic",
    "before",
    "begin",
    "bind",
    "bins",
    "binsof",
    "bit",
    "break",
    "buf",
    "bufif0",
    "bufif1",
    "byte",
    "case",
    "casex",
    "casez",
    "cell",
    "chandle",
    "checker",
    "class",
    "clocking",
    "cmos",
    "config",
    "const",
    "constraint",
    "context",
    "continue",
    "cover",
    "covergroup",
    "coverpoint",
    "cross",
    "deassign",
    "default",
    "defparam",
    "design",
    "disable",
    "dist",
    "do",
    "edge",
    "else",
    "end",
    "endcase",
    "endchecker",
    "endclass",
    "endclocking",
    "endconfig",
    "endfunction",
    "endgenerate",
    "endgroup",
    "endinterface",
    "endmodule",
    "endpackage",
    "endprimitive",
    "endprogram",
    "endproperty",
    "endsequence",
    "endspecify",
    "endtable",
    "endtask",
    "enum",
    "event",
    "eventually",
    "expect",
    "export",
    "extends",
    "extern",
    "final",
    "first_match",
    "for",
    "force",
    "foreach",
    "forever",
    "fork",
    "forkjoin",
    "function",
    "generate",
    "genvar",
    "global",
    "highz0",
    "highz1",
    "if",
    "iff",
    "ifnone",
    "ignore_bins",
    "illegal_bins",
    "implements",
    "implies",
    "import",
    "incdir",
    "include",
    "initial",
    "inout",
    "input",
    "inside",
    "instance",
    "int",
    "integer",
    "interconnect",
    "interface",
    "intersect",
    "join",
    "join_any",
    "join_none",
    "large",
    "let",
    "liblist",
    "library",
    "local",
    "localparam",
    "logic",
    "longint",
    "macromodule",
    "matches",
    "medium",
    "modport",
    "module",
    "nand",
    "negedge",
    "nettype",
    "new",
    "nexttime",
    "nmos",
    "nor",
    "noshowcancelled",
    "not",
    "notif0",
    "notif1",
    "null",
    "or",
    "output",
    "package",
    "packed",
    "parameter",
    "pmos",
    "posedge",
    "primitive",
    "priority",
    "program",
    "property",
    "protected",
    "pull0",
    "pull1",
    "pulldown",
    "pullup",
    "pulsestyle_ondetect",
    "pulsestyle_onevent",
    "pure",
    "rand",
    "randc",
    "randcase",
    "randsequence",
    "rcmos",
    "real",
    "realtime",
    "ref",
    "reg",
    "reject_on",
    "release",
    "repeat",
    "restrict",
    "return",
    "rnmos",
    "rpmos",
    "rtran",
    "rtranif0",
    "rtranif1",
    "s_always",
    "s_eventually",
    "s_nexttime",
    "s_until",
    "s_until_with",
    "scalared",
    "sequence",
    "shortint",
    "shortreal",
    "showcancelled",
    "signed",
    "small",
    "soft",
    "solve",
    "specify",
    "specparam",
    "static",
    "string",
    "strong",
    "strong0",
    "strong1",
    "struct",
    "super",
    "supply0",
    "supply1",
    "sync_accept_on",
    "sync_reject_on",
    "table",
    "tagged",
    "task",
    "this",
    "throughout",
    "time",
    "timeprecision",
    "timeunit",
    "tran",
    "tranif0",
    "tranif1",
    "tri",
    "tri0",
    "tri1",
    "triand",
    "trior",
    "trireg",
    "type",
    "typedef",
    "union",
    "unique",
    "unique0",
    "unsigned",
    "until",
    "until_with",
    "untyped",
    "use",
    "uwire",
    "var",
    "vectored",
    "virtual",
    "void",
    "wait",
    "wait_order",
    "wand",
    "weak",
    "weak0",
    "weak1",
    "while",
    "wildcard",
    "wire",
    "with",
    "within",
    "wor",
    "xnor",
    "xor",
];

/// Whether `name` is a Verilog-2005 or SystemVerilog keyword (not usable as an identifier).
fn is_keyword(name: &str) -> bool {
    KEYWORDS.binary_search(&name).is_ok()
}

/// Whether `name` is a legal, non-keyword Verilog identifier.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_keyword(name)
}

/// FxHash's mixing step: fast and deterministic, for the checker's name tables.
#[derive(Default, Clone, Copy)]
pub(super) struct FxHasher(u64);

impl FxHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.mix(u64::from(b));
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A hash map with [`FxHasher`].
pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// What a name in a module denotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Input,
    Output,
    Wire,
    Reg,
    MemData,
    Memory,
    Instance,
}

/// Every name declared in a module. Entries are numbered ports first (in port order), then
/// wires, so the combinational nets are exactly the entries below [`SymbolTable::nets`].
pub(super) struct SymbolTable<'a> {
    index: FastMap<&'a str, u32>,
    entries: Vec<(Kind, Ty)>,
    nets: usize,
}

impl<'a> SymbolTable<'a> {
    /// Declares every name of `m`, reporting illegal, zero-width and duplicate ones.
    pub fn build(m: &'a Module, errors: &mut Vec<super::CheckError>) -> SymbolTable<'a> {
        let mut t = SymbolTable {
            index: FastMap::default(),
            entries: Vec::new(),
            nets: m.ports.len() + m.wires.len(),
        };
        let mut add = |name: &'a str, kind: Kind, ty: Ty| {
            if !is_identifier(name) {
                errors.push(super::CheckError::in_module(
                    &m.name,
                    format!("{name:?} is not a legal Verilog identifier"),
                ));
            }
            if ty.width == 0 {
                errors.push(super::CheckError::in_module(
                    &m.name,
                    format!("{name} has zero width"),
                ));
            }
            let id = t.entries.len() as u32;
            t.entries.push((kind, ty));
            if t.index.insert(name, id).is_some() {
                errors.push(super::CheckError::in_module(
                    &m.name,
                    format!("name {name} is declared twice"),
                ));
            }
        };
        for p in &m.ports {
            let kind = if p.dir == Dir::Input {
                Kind::Input
            } else {
                Kind::Output
            };
            add(&p.name, kind, p.ty);
        }
        for w in &m.wires {
            add(&w.name, Kind::Wire, w.ty);
        }
        for r in &m.regs {
            add(&r.name, Kind::Reg, r.ty);
        }
        for mem in &m.memories {
            add(&mem.name, Kind::Memory, mem.data_ty());
            add(&mem.read_data, Kind::MemData, mem.data_ty());
        }
        for i in &m.instances {
            add(&i.name, Kind::Instance, Ty::BIT);
        }
        t
    }

    /// Entry number of `name`.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// Kind and type of `name`.
    pub fn get(&self, name: &str) -> Option<(Kind, Ty)> {
        self.id(name).map(|i| self.entries[i as usize])
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Kind of entry `id`.
    pub fn kind(&self, id: u32) -> Kind {
        self.entries[id as usize].0
    }

    /// Number of combinational nets (ports and wires), entries `0..nets`.
    pub fn nets(&self) -> usize {
        self.nets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(is_identifier("npu8x8_pe"));
        assert!(is_identifier("_x"));
        assert!(!is_identifier("8x8"));
        assert!(!is_identifier("module"));
        assert!(!is_identifier("logic"));
        assert!(!is_identifier("a-b"));
        assert!(!is_identifier(""));
    }

    #[test]
    fn keyword_list_is_sorted_complete_and_refused() {
        assert!(
            KEYWORDS.windows(2).all(|w| w[0] < w[1]),
            "sorted, no repeats"
        );
        assert_eq!(
            KEYWORDS.len(),
            248,
            "IEEE 1800-2017 Annex B has 248 keywords"
        );
        // tests/hardening.rs runs the ones a hostile user found accepted through the CLI.
        assert!(KEYWORDS.iter().all(|k| !is_identifier(k)));
        assert!(is_identifier("wands") && is_identifier("Wand"));
    }
}
