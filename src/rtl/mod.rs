//! npugen's RTL intermediate representation: a small, typed netlist of modules, ports, wires,
//! registers, instances and memories ([`design`]), typed expressions ([`expr`]), a builder for
//! generators ([`builder`]) and a structural checker ([`check`]).
//!
//! Generators write this IR and never print text; emitters and simulators only read it.

pub mod builder;
pub mod check;
pub mod design;
pub mod expr;

pub use builder::{ModuleBuilder, RegHandle};
pub use check::{check_design, CheckError};
pub use design::{Assign, Conn, Design, Dir, Instance, MemWrite, Memory, Module, Port, Reg, Wire};
pub use expr::{BinOp, Const, Expr, Ty, UnOp};

/// Number of bits needed to hold the unsigned value `max` (at least 1).
pub(crate) fn bits_for(max: u64) -> u32 {
    (64 - max.leading_zeros()).max(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bits_for_values() {
        assert_eq!(super::bits_for(0), 1);
        assert_eq!(super::bits_for(1), 1);
        assert_eq!(super::bits_for(2), 2);
        assert_eq!(super::bits_for(255), 8);
        assert_eq!(super::bits_for(256), 9);
    }
}
