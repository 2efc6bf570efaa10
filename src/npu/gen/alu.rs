//! The compute unit's vector ALU: runs one ALU instruction over accumulator rows, all C lanes
//! of a row at once, one row every ten cycles (read the operand; read the destination; wait
//! (the accumulator memory's reads take three cycles, `buffers::ACC_READ_LATENCY`; an
//! activation operand, read in two, waits in registers beside the ALU, so both kinds arrive
//! together); register the operand; add the immediate to it, the destination arriving;
//! shift by the shift's multiple of 8; shift by the rest; add and compare;
//! select; write: for the clock, no stage chains two carry chains or follows one with a wide
//! select, no compare is a carry chain as long as a lane (the halves are compared and
//! combined a stage later), and the memory's write data comes from a register),
//! rows in order, so an operand row that an earlier row of the same
//! instruction wrote is read after that write. It owns the accumulator and activation read
//! ports and the accumulator write port while busy (the compute unit takes an ALU instruction
//! only when everything else in it is idle).

use super::{buffers, get, lit, u};
use crate::npu::isa::{covered, spec, AluFunc, AluSrc, Opcode};
use crate::npu::Geometry;
use crate::rtl::{Expr, Module, ModuleBuilder, Ty};

/// The ALU module `module` for `g`.
pub fn alu(module: &str, g: &Geometry) -> Module {
    let (cols, w) = (g.cols, g.acc_bits);
    let ab = cols * w;
    let mut b = ModuleBuilder::new(module);
    b.doc("Vector ALU: MOV, ADD, MAX, MIN, SHR over accumulator rows.");
    b.clock_and_reset();
    let [start, instr, act_rdata, acc_rdata] = b.inputs([
        ("start", Ty::BIT, "take the ALU instruction on instr"),
        ("instr", u(128), "the instruction"),
        (
            "act_rdata",
            u(g.rows * g.in_bits),
            "activation word read two cycles before",
        ),
        (
            "acc_rdata",
            u(ab),
            "accumulator row read three cycles before",
        ),
    ]);
    b.outputs([
        ("busy", Ty::BIT, "an instruction is running"),
        ("done", Ty::BIT, "its last cycle"),
        ("act_re", Ty::BIT, "read an activation word"),
        ("act_raddr", u(16), "its address"),
        ("acc_re", Ty::BIT, "read an accumulator row"),
        ("acc_raddr", u(16), "its address"),
        ("acc_we", Ty::BIT, "write an accumulator row"),
        ("acc_waddr", u(16), "its address"),
        ("acc_wdata", u(ab), "the row"),
    ]);
    let f = |n: &str, width: u32| get(&instr, Opcode::Alu, n, width);
    let keep = |b: &mut ModuleBuilder, name: &str, v: Expr| b.delay_when(name, v, start.clone());
    let func = keep(&mut b, "func_q", f("func", 3));
    let kind = keep(&mut b, "kind_q", f("src_kind", 2));
    let dst = keep(&mut b, "dst_q", f("dst", 16));
    let src = keep(&mut b, "src_q", f("src", 16));
    let imm = keep(&mut b, "imm_q", f("imm", 16));
    let shift = keep(&mut b, "shift_q", f("shift", 6));
    // The decoded function and source, one wire each (every lane reads them); MOV is what
    // the result's muxes fall through to, so it needs none.
    let funcs: Vec<(AluFunc, Expr)> = AluFunc::ALL
        .iter()
        .filter(|&&f| f != AluFunc::Mov)
        .map(|&f| {
            let name = format!("func_{f:?}").to_lowercase();
            (f, b.wire(&name, func.clone().eq(lit(f as u64, 3))))
        })
        .collect();
    let kinds: Vec<(AluSrc, Expr)> = AluSrc::ALL
        .iter()
        .map(|&k| {
            let name = format!("src_{k:?}").to_lowercase();
            (k, b.wire(&name, kind.clone().eq(lit(k as u64, 2))))
        })
        .collect();
    let func_is = |fu: AluFunc| {
        funcs
            .iter()
            .find(|(f, _)| *f == fu)
            .map(|(_, e)| e.clone())
            .expect("every function")
    };
    let kind_is = |k: AluSrc| {
        kinds
            .iter()
            .find(|(s, _)| *s == k)
            .map(|(_, e)| e.clone())
            .expect("every source")
    };

    // States: 0 idle, 1 read the operand, 2 read the destination, then (after D cycles
    // waiting: D = 1 when accumulator reads take three cycles, activation reads two)
    // 3 + D register the operand (it arrives: for the clock, the memory's word crosses to
    // the ALU into flip-flops before any select or add), 4 + D add the immediate (the
    // destination arrives), 5 + D shift by the multiple of 8, 6 + D shift by the rest,
    // 7 + D add and compare, 8 + D select, 9 + D write. An activation operand is read in
    // state 1 too, and delayed D cycles.
    const D: u64 = buffers::ACC_READ_LATENCY as u64 - 2;
    const WRITE: u64 = 9 + D;
    let sw_st = crate::rtl::bits_for(WRITE);
    let st = b.reg("state_q", u(sw_st));
    let st_q = st.q();
    let is = |v: u64| st_q.clone().eq(lit(v, sw_st));
    let i = b.reg("row_q", u(16));
    let i_q = i.q();
    // Rows left, with "none left" as a register (for the clock): loaded at the start, one
    // fewer at each row's write.
    let (_, none_left) =
        super::countdown(&mut b, "rows_left_q", 16, &start, f("rows", 16), &is(WRITE));
    let more = b.wire("more", none_left.not());
    let done = b.wire("last", is(1).and(more.clone().not()));
    b.assign("done", done.clone());
    // Busy as a register of its own, set for the next state (for the clock: the compute
    // unit's read-port selects start from a flip-flop).
    let busy = b.reg("busy_q", Ty::BIT);
    b.assign("busy", busy.q());
    let next = Expr::mux(
        start.clone(),
        lit(1, sw_st),
        Expr::mux(
            done,
            lit(0, sw_st),
            Expr::mux(
                is(WRITE),
                lit(1, sw_st),
                Expr::mux(is(0), lit(0, sw_st), st_q.clone().add(lit(1, sw_st))),
            ),
        ),
    );
    let next = b.wire("state_next", next);
    b.set_next(busy, next.clone().ne(lit(0, sw_st)), None);
    b.set_next(st, next, None);
    b.set_next(
        i,
        Expr::mux(start.clone(), lit(0, 16), i_q.clone().add(lit(1, 16))),
        Some(start.clone().or(is(WRITE))),
    );
    let reads_dst = AluFunc::ALL
        .into_iter()
        .filter(|f| f.reads_dst())
        .map(func_is)
        .reduce(Expr::or)
        .expect("a function reads the destination");
    let read_src = is(1).and(more.clone());
    b.assign("act_re", is(1).and(more).and(kind_is(AluSrc::Act)));
    let src_row = b.wire("src_row", src.add(i_q.clone()));
    b.assign("act_raddr", src_row.clone());
    b.assign(
        "acc_re",
        read_src.and(kind_is(AluSrc::Acc)).or(is(2).and(reads_dst)),
    );
    // The destination row from a register (for the clock: no adder before the accumulator
    // memory's write address): a cycle behind the row counter, which moves at the start and
    // at each write, and the destination is read two cycles after either (state 2).
    let dst_row = b.data_reg("dst_row_q", dst.add(i_q), None);
    b.assign("acc_raddr", Expr::mux(is(1), src_row, dst_row.clone()));

    // The immediate, sign-extended (or cut) to a lane.
    let imm_s = b.wire("imm_s", imm.cast(true));
    let imm_lane = if w >= 16 {
        b.wire("imm_lane", imm_s.ext(w).cast(false))
    } else {
        b.wire("imm_lane", imm_s.slice(w - 1, 0))
    };
    // The shift (below acc_bits: the sequencer checked) and the rounding constants it gives,
    // registered while the first operand is read: mask = 2^shift - 1, the threshold above
    // zero mask >> 1 and below zero one more (ties away from zero), each bit a compare.
    let sw = crate::rtl::bits_for(u64::from(w - 1));
    let shift_w = b.wire("shift_w", shift);
    let sh = b.wire("sh", shift_w.slice(sw - 1, 0));
    if sw < 6 {
        b.wire("shift_unused", shift_w.slice(5, sw));
    }
    // Compares the shift cannot make true are constants (no constant compare in the Verilog).
    let top = (1u32 << sw) - 1;
    let gt = |v: u32| {
        if v >= top {
            Expr::bit_const(false)
        } else {
            sh.clone().gt(lit(u64::from(v), sw))
        }
    };
    let eq = |v: u32| {
        if v > top {
            Expr::bit_const(false)
        } else {
            sh.clone().eq(lit(u64::from(v), sw))
        }
    };
    let bits = |f: &dyn Fn(u32) -> Expr| Expr::concat((0..w).rev().map(f).collect());
    let consts = [
        ("mask_q", bits(&gt)),
        ("half_q", bits(&|i| gt(i + 1))),
        (
            "half1_q",
            bits(&|i| {
                if i == 0 {
                    sh.clone().le(lit(1, sw))
                } else {
                    eq(i + 1)
                }
            }),
        ),
    ];
    let [mask_q, half_q, half1_q] = consts.map(|(name, v)| {
        let r = b.reg_with_reset(name, u(w), None);
        let q = r.q();
        b.set_next(r, v, Some(is(1)));
        q
    });
    let (mut op_next, mut v_next, mut t1_next, mut t_next, mut up_next, mut res) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut gt_next, mut rem_next, mut r1_next) =
        ([vec![], vec![], vec![]], [vec![], vec![], vec![]], vec![]);
    // Compares of two lanes, in halves (for the clock: no carry chain as long as a lane),
    // registered and combined in the next stage: the upper halves' x > y (signed as `signed`
    // says) and x == y, the lower halves' x > y.
    let h = w / 2;
    let halves = |x: &Expr, y: &Expr, signed: bool| {
        let (xh, yh) = (x.slice_as(w - 1, h, signed), y.slice_as(w - 1, h, signed));
        let (xl, yl) = (x.slice(h - 1, 0), y.slice(h - 1, 0));
        [xh.clone().gt(yh.clone()), xh.eq(yh), xl.gt(yl)]
    };
    let flags = |b: &mut ModuleBuilder, tag: &str| {
        [
            format!("{tag}_gt_hi_q"),
            format!("{tag}_eq_hi_q"),
            format!("{tag}_gt_lo_q"),
        ]
        .map(|name| {
            let r = b.reg_with_reset(&name, u(cols), None);
            let q = r.q();
            (r, q)
        })
    };
    let gt_f = flags(&mut b, "cmp");
    let rem_f = flags(&mut b, "rem");
    let greater = |f: &[(crate::rtl::RegHandle, Expr); 3], j: u32| {
        f[0].1.bit(j).or(f[1].1.bit(j).and(f[2].1.bit(j)))
    };
    // Stage 6's results: the sum (ADD) or the rounded shift (SHR).
    let r1_reg = b.reg_with_reset("r1_q", u(ab), None);
    let r1_q = r1_reg.q();
    // Stage 4's: the value shifted by the multiple of 8 of the shift.
    let t1_reg = b.reg_with_reset("t1_q", u(ab), None);
    let t1_q = t1_reg.q();
    let sh_coarse = b.wire(
        "sh_coarse",
        Expr::concat(vec![sh.slice(sw - 1, 3), lit(0, 3)]),
    );
    let sh_fine = b.wire("sh_fine", sh.slice(2, 0));
    let op_reg = b.reg_with_reset("op_q", u(ab), None);
    let op_q = op_reg.q();
    let v_reg = b.reg_with_reset("v_q", u(ab), None);
    let v_q = v_reg.q();
    // Declared after the lanes, as replicas (see the compare's copies below).
    let t_q = Expr::sig("t_q", u(ab));
    let a_q = Expr::sig("a_q", u(ab));
    let up_reg = b.reg_with_reset("up_q", u(cols), None);
    let up_q = up_reg.q();
    // The operand read in state 1 is in the accumulator memory's output register in state
    // 3 + D; from the activations, in registers that follow the memory's D cycles (for the
    // clock: the activation memory's word crosses to the ALU into flip-flops, as it also
    // feeds the array).
    let op_act_q = if D == 0 {
        act_rdata.clone()
    } else {
        b.delayed(|k| format!("act_op{k}_q"), act_rdata.clone(), D as u32)
    };
    let op_acc_q = acc_rdata.clone();
    for j in 0..cols {
        let (lo, hi) = (j * w, j * w + w - 1);
        // The lane's own copies of the decoded function and source (for the clock: no
        // decode drives every lane's muxes), a cycle behind func_q and kind_q, which hold from
        // state 1: the lanes use them from state 3.
        let lane_func = |b: &mut ModuleBuilder, fu: AluFunc| {
            let name = format!("func_{fu:?}_l{j}_q").to_lowercase();
            b.replica(&name, func_is(fu))
        };
        let lane_kind = |b: &mut ModuleBuilder, k: AluSrc| {
            let name = format!("src_{k:?}_l{j}_q").to_lowercase();
            b.replica(&name, kind_is(k))
        };
        let (l_add, l_max, l_min, l_shr) = (
            lane_func(&mut b, AluFunc::Add),
            lane_func(&mut b, AluFunc::Max),
            lane_func(&mut b, AluFunc::Min),
            lane_func(&mut b, AluFunc::Shr),
        );
        let (l_act, l_imm) = (
            lane_kind(&mut b, AluSrc::Act),
            lane_kind(&mut b, AluSrc::Imm),
        );
        // Stage 3: the operand plus the immediate.
        let operand = if j < g.rows {
            let (alo, ahi) = (j * g.in_bits, j * g.in_bits + g.in_bits - 1);
            let a = b.wire(&format!("act_l{j}"), op_act_q.slice_as(ahi, alo, g.signed));
            let a = b.wire(&format!("act_x{j}"), a.ext(w).cast(false));
            Expr::mux(l_act.clone(), a, op_acc_q.slice(hi, lo))
        } else {
            Expr::mux(l_act.clone(), lit(0, w), op_acc_q.slice(hi, lo))
        };
        op_next.push(Expr::mux(l_imm, lit(0, w), operand));
        let op = op_q.slice(hi, lo);
        v_next.push(op.add(imm_lane.clone()));
        // Stages 4 and 5: the left shift, or the rounding right shift (gemmlowp's mask and
        // threshold), by the shift's multiple of 8, then by the rest.
        let x = b.wire(&format!("v_l{j}"), v_q.slice_as(hi, lo, g.signed));
        let xu = v_q.slice(hi, lo);
        let rem = b.wire(&format!("rem_l{j}"), xu.clone().and(mask_q.clone()));
        // One compare against the threshold of the value's sign.
        let thr = if g.signed {
            Expr::mux(x.bit(w - 1), half1_q.clone(), half_q.clone())
        } else {
            half_q.clone()
        };
        let thr = b.wire(&format!("thr_l{j}"), thr);
        for (k, v) in halves(&rem, &thr, false).into_iter().enumerate() {
            rem_next[k].push(v);
        }
        up_next.push(greater(&rem_f, j).and(l_shr.clone()));
        let down = x.shr(sh_coarse.clone()).cast(false);
        t1_next.push(Expr::mux(l_shr.clone(), down, xu.shl(sh_coarse.clone())));
        let x1 = t1_q.slice_as(hi, lo, g.signed);
        let down = x1.shr(sh_fine.clone()).cast(false);
        t_next.push(Expr::mux(
            l_shr.clone(),
            down,
            t1_q.slice(hi, lo).shl(sh_fine.clone()),
        ));
        // Stage 6: combine with the destination.
        let a = b.wire(&format!("a_l{j}"), a_q.slice_as(hi, lo, g.signed));
        let t = b.wire(&format!("t_l{j}"), t_q.slice_as(hi, lo, g.signed));
        // One compare for both (on a tie either value is the same), in halves, of the copies.
        let a_u = b.wire(
            &format!("a_u_l{j}"),
            Expr::sig("a_cmp_q", u(ab)).slice(hi, lo),
        );
        let t_u = b.wire(
            &format!("t_u_l{j}"),
            Expr::sig("t_cmp_q", u(ab)).slice(hi, lo),
        );
        for (k, v) in halves(&a_u, &t_u, g.signed).into_iter().enumerate() {
            gt_next[k].push(v);
        }
        // SHR: the shifted value plus its rounding bit (zero for the other functions).
        let rounded = t_q.slice(hi, lo).add(up_q.bit(j).zext(w)).cast(g.signed);
        let sum = a.clone().add(t.clone());
        r1_next.push(Expr::mux(l_add, sum, rounded).cast(false));
        // Stage 7: MAX and MIN from the registered compare (a and t still hold), else the sum.
        let gt = b.wire(&format!("a_gt_l{j}"), greater(&gt_f, j));
        let max = Expr::mux(gt.clone(), a.clone(), t.clone());
        let min = Expr::mux(gt, t.clone(), a.clone());
        let r1 = r1_q.slice_as(hi, lo, g.signed);
        let r = Expr::mux(l_max, max, Expr::mux(l_min, min, r1));
        res.push(r.cast(false));
    }
    let rev = |v: Vec<Expr>| Expr::concat(v.into_iter().rev().collect());
    b.set_next(op_reg, rev(op_next), Some(is(3 + D)));
    b.set_next(v_reg, rev(v_next), Some(is(4 + D)));
    b.set_next(t1_reg, rev(t1_next), Some(is(5 + D)));
    for ((r, _), v) in rem_f.into_iter().zip(rem_next) {
        b.set_next(r, rev(v), Some(is(5 + D)));
    }
    // The compare reads copies of a_q and t_q of its own (for the clock: each copy is placed
    // by its users, the compares' carry chains or the adds and selects). All four are
    // replicas: Yosys merges a plain register into a kept one with the same inputs.
    b.replica_when("t_cmp_q", rev(t_next.clone()), is(6 + D));
    b.replica_when("a_cmp_q", acc_rdata.clone(), is(4 + D));
    b.replica_when("t_q", rev(t_next), is(6 + D));
    b.replica_when("a_q", acc_rdata.clone(), is(4 + D));
    b.set_next(up_reg, rev(up_next), Some(is(6 + D)));
    b.set_next(r1_reg, rev(r1_next), Some(is(7 + D)));
    for ((r, _), v) in gt_f.into_iter().zip(gt_next) {
        b.set_next(r, rev(v), Some(is(7 + D)));
    }
    // Stage 8 + D's row, registered: it is written in state 9 + D (for the clock, the
    // memory's write data comes from a register).
    let res_q = b.data_reg("res_q", rev(res), Some(is(8 + D)));
    b.assign("acc_we", is(WRITE));
    b.assign("acc_waddr", dst_row);
    b.assign("acc_wdata", res_q);
    // Bits the ALU's fields do not cover (opcode, flags, reserved): the compute unit's.
    let words = covered(spec(Opcode::Alu).fields);
    let used = |bit: u32| words[(bit / 32) as usize] >> (bit % 32) & 1 == 1;
    let mut spare = vec![];
    let mut hi = 128u32;
    while hi > 0 {
        let top = hi - 1;
        if used(top) {
            hi -= 1;
            continue;
        }
        let mut lo = top;
        while lo > 0 && !used(lo - 1) {
            lo -= 1;
        }
        spare.push(instr.slice(top, lo));
        hi = lo;
    }
    b.wire("instr_unused", Expr::concat(spare));
    b.finish()
}
