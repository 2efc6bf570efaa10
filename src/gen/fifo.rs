//! The output FIFO: a first-word-fall-through queue of result rows between the array (which
//! never stalls) and the AXI-Stream output (which may). The array only produces rows it holds
//! credits for (see `control`), so the FIFO cannot overflow and has no `full` output.

use crate::rtl::{bits_for, Expr, MemWrite, Memory, Module, ModuleBuilder, Ty};

/// FIFO module of `depth` (a power of two >= 2) words of `width` bits.
/// About 80 lines, the whole FIFO: pointers, the registered empty flag and the read register.
///
/// ```text
/// clk      _/~\_/~\_/~\_/~\_
/// wr_en    _/~~~\___________    row written at the end of cycle 0
/// rd_valid _________/~~~~~~~    shown two cycles later (memory read register)
/// rd_ready ~~~~~~~~~~~~~~~~~    a beat leaves when rd_valid && rd_ready
/// ```
pub fn fifo(module: &str, width: u32, depth: u32) -> Module {
    assert!(depth.is_power_of_two() && depth >= 2, "fifo depth {depth}");
    let aw = bits_for(u64::from(depth - 1));
    let pw = aw + 1; // one wrap bit tells full from empty
    let mut b = ModuleBuilder::new(module);
    b.doc(format!(
        "Output FIFO, {depth} x {width} bits, first word fall through; never overflows because"
    ));
    b.doc("the producer only writes rows it reserved credits for.");
    b.clock_and_reset();
    let wr_en = b.input("wr_en", Ty::BIT, "write a row this cycle");
    let wr_data = b.input("wr_data", Ty::unsigned(width), "row to write");
    let rd_ready = b.input("rd_ready", Ty::BIT, "consumer takes rd_data this cycle");
    b.output("rd_valid", Ty::BIT, "rd_data holds a row");
    b.output("rd_data", Ty::unsigned(width), "oldest row");

    let ptr = Ty::unsigned(pw);
    let one = Expr::lit(1, ptr);
    let wptr = b.reg("wptr", ptr);
    let wptr_q = wptr.q();
    // The read address; the full read pointer (with the wrap bit) is rptr_inc - 1.
    let rptr = b.reg("rptr", Ty::unsigned(aw));
    let rptr_q = rptr.q();
    let ov = b.reg("out_valid", Ty::BIT);
    let ov_q = ov.q();
    // `empty` is a register, so the read enable (which clocks the whole output row) is one
    // gate from flip-flops and rd_ready. Its next value needs no adder or pointer compare on
    // the path: a write alone makes the FIFO non-empty, a read alone empties it when the write
    // pointer equals the registered rptr + 1, and both or neither leave it as it is.
    let empty = b.reg_with_reset(
        "empty",
        Ty::BIT,
        Some(crate::rtl::Const::from_u128(1, Ty::BIT)),
    );
    let empty_q = empty.q();
    let rptr_inc = b.reg_with_reset("rptr_inc", ptr, Some(crate::rtl::Const::from_u128(1, ptr)));
    let rptr_inc_q = rptr_inc.q();
    let load = b.wire(
        "load",
        empty_q
            .clone()
            .not()
            .and(ov_q.clone().not().or(rd_ready.clone())),
    );
    b.set_next(wptr, wptr_q.clone().add(one.clone()), Some(wr_en.clone()));
    b.set_next(
        rptr,
        rptr_inc_q.clone().slice(aw - 1, 0),
        Some(load.clone()),
    );
    b.set_next(rptr_inc, rptr_inc_q.clone().add(one), Some(load.clone()));
    let drained = b.wire("drained", wptr_q.clone().eq(rptr_inc_q));
    b.set_next(
        empty,
        Expr::mux(
            wr_en.clone(),
            Expr::mux(load.clone(), empty_q.clone(), Expr::bit_const(false)),
            Expr::mux(load.clone(), drained, empty_q),
        ),
        None,
    );
    b.set_next(ov, load.clone().or(ov_q.clone().and(rd_ready.not())), None);
    let waddr = b.wire("waddr", wptr_q.slice(aw - 1, 0));
    let raddr = b.wire("raddr", rptr_q);
    let data = b.memory(Memory {
        name: "mem".into(),
        width,
        depth,
        write: Some(MemWrite {
            enable: wr_en,
            addr: waddr,
            data: wr_data,
        }),
        init: None,
        read_enable: load,
        read_addr: raddr,
        read_data: "dout".into(),
        no_rw_check: false,
    });
    b.assign("rd_valid", ov_q);
    b.assign("rd_data", data);
    b.finish()
}
