//! The RTL design: modules made of ports, wires, registers, instances and memories.
//!
//! Conventions fixed by the IR (and relied on by the emitters and the checker):
//! - every register is clocked by the module's `clk` input on the rising edge and, when it has a
//!   reset value, reset synchronously by the active-high `rst` input;
//! - a wire or output port has exactly one driver: an [`Assign`] or one instance output;
//! - memories have at most one synchronous write port and one registered read port.

use super::expr::{Const, Expr, Ty};

/// A whole design: a top module and every module it instantiates.
#[derive(Clone, Debug, PartialEq)]
pub struct Design {
    /// Name of the top module.
    pub top: String,
    /// Comment lines placed at the head of every emitted file (generator version, config).
    pub header: Vec<String>,
    /// All modules, top first, then in instantiation order.
    pub modules: Vec<Module>,
}

impl Design {
    /// The module called `name`.
    pub fn module(&self, name: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.name == name)
    }

    /// Mutable access to the module called `name` (tests use it to build faulty variants).
    pub fn module_mut(&mut self, name: &str) -> Option<&mut Module> {
        self.modules.iter_mut().find(|m| m.name == name)
    }

    /// The top module.
    pub fn top_module(&self) -> &Module {
        self.module(&self.top)
            .expect("internal IR error: design has no top module")
    }
}

/// Port direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Driven from outside the module.
    Input,
    /// Driven inside the module.
    Output,
}

/// A module port.
#[derive(Clone, Debug, PartialEq)]
pub struct Port {
    /// Port name.
    pub name: String,
    /// Direction.
    pub dir: Dir,
    /// Type.
    pub ty: Ty,
    /// One-line description, emitted as a trailing comment.
    pub doc: String,
}

/// A combinational signal declared inside a module.
#[derive(Clone, Debug, PartialEq)]
pub struct Wire {
    /// Wire name.
    pub name: String,
    /// Type.
    pub ty: Ty,
}

/// A continuous assignment `assign target = expr;` to a wire or output port.
#[derive(Clone, Debug, PartialEq)]
pub struct Assign {
    /// Driven wire or output port.
    pub target: String,
    /// Value; its type equals the target's.
    pub expr: Expr,
}

/// A register: `if (rst) name <= reset; else if (enable) name <= next;` on `posedge clk`.
#[derive(Clone, Debug, PartialEq)]
pub struct Reg {
    /// Register name.
    pub name: String,
    /// Type.
    pub ty: Ty,
    /// Synchronous reset value, or `None` for a register without reset.
    pub reset: Option<Const>,
    /// Optional 1-bit clock enable.
    pub enable: Option<Expr>,
    /// Next-state value; its type equals `ty`.
    pub next: Expr,
    /// A replica: kept apart from registers of the same next state (its own `always` block,
    /// marked `(* keep *)`), so synthesis does not merge copies made to cut a net's fanout.
    pub replica: bool,
}

/// One connection of an instance port.
#[derive(Clone, Debug, PartialEq)]
pub enum Conn {
    /// An input port driven by an expression of the port's type.
    Input(Expr),
    /// An output port driving the named wire (or output port) of the port's type.
    Output(String),
}

/// An instance of another module of the design.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// Instance name.
    pub name: String,
    /// Name of the instantiated module.
    pub module: String,
    /// Connections by port name, in the instantiated module's port order.
    pub conns: Vec<(String, Conn)>,
}

/// The write port of a [`Memory`].
#[derive(Clone, Debug, PartialEq)]
pub struct MemWrite {
    /// Write enable (1 bit).
    pub enable: Expr,
    /// Write address (unsigned).
    pub addr: Expr,
    /// Write data (`width` bits, unsigned).
    pub data: Expr,
}

/// A memory array with an optional synchronous write port, optional initial contents (a ROM
/// when there is no write port) and one registered read port.
#[derive(Clone, Debug, PartialEq)]
pub struct Memory {
    /// Memory name.
    pub name: String,
    /// Word width in bits.
    pub width: u32,
    /// Number of words.
    pub depth: u32,
    /// The write port, if any.
    pub write: Option<MemWrite>,
    /// Initial contents, one constant per word (emitted as an `initial` block, which FPGA
    /// synthesis tools infer as ROM / initialised RAM).
    pub init: Option<Vec<Const>>,
    /// Read enable (1 bit).
    pub read_enable: Expr,
    /// Read address (unsigned).
    pub read_addr: Expr,
    /// Name of the register that receives `mem[read_addr]` when `read_enable` is high.
    pub read_data: String,
    /// The design never uses what a read returns in the cycle the same word is written:
    /// synthesis may leave it undefined (Yosys's `no_rw_check`, which drops its read-first
    /// emulation), and simulation with `NPUGEN_POISON_COLLISIONS` defined returns the inverted
    /// word, so a design that does use it computes wrong results in every co-simulation.
    pub no_rw_check: bool,
}

impl Memory {
    /// Type of the read-data register.
    pub fn data_ty(&self) -> Ty {
        Ty::unsigned(self.width)
    }
}

/// A Verilog module.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Module {
    /// Module name.
    pub name: String,
    /// Comment lines emitted above the module (purpose, port timing).
    pub doc: Vec<String>,
    /// Ports in interface order.
    pub ports: Vec<Port>,
    /// Internal combinational signals.
    pub wires: Vec<Wire>,
    /// Continuous assignments.
    pub assigns: Vec<Assign>,
    /// Registers.
    pub regs: Vec<Reg>,
    /// Instances of other modules.
    pub instances: Vec<Instance>,
    /// Memories.
    pub memories: Vec<Memory>,
}

impl Module {
    /// The port called `name`.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }

    /// Whether the module holds state and therefore needs `clk` and `rst`.
    pub fn is_sequential(&self) -> bool {
        !self.regs.is_empty() || !self.memories.is_empty()
    }
}
