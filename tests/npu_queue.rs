//! The npu's register queue (unit queues, the fetch queue, the row and tile descriptor
//! queues), Verilated alone against a plain double-ended queue: random pushes and pops at
//! depths 1 to 4, 16 and 32 (the row descriptors' and the read order's), some keeping
//! entries free (the unit queues', the read beats'), every cycle's in_ready, out_valid, out_data and count
//! compared.

mod common;

use std::collections::VecDeque;

use common::npu::Ports;
use common::{sim_cache, tool};
use npugen::flow::tools::ToolKind;
use npugen::npu::gen::queue_design;
use npugen::rng::{seed_from_env, Rng};
use npugen::sim::ports::{get_u64 as get, set_u64 as put};
use npugen::sim::verilator::{build_model, TraceFormat, Verilated};

#[test]
fn queues_behave_as_a_plain_queue() {
    if tool(ToolKind::Verilator).is_none() {
        return;
    }
    let seed = seed_from_env("NPUGEN_SEED");
    println!("seed {seed} (NPUGEN_SEED replays)");
    let mut rng = Rng::new(seed);
    for (depth, reserve) in [
        (1, 0),
        (2, 0),
        (3, 0),
        (4, 0),
        (2, 1),
        (3, 1),
        (4, 2),
        (16, 0),
        (32, 1),
    ] {
        let design = queue_design(8, depth, reserve);
        let build = build_model(&design, TraceFormat::Vcd, &sim_cache()).unwrap();
        let mut sim = Verilated::load(&build).unwrap();
        let s = Ports::of(&sim);
        let mut want: VecDeque<u64> = VecDeque::new();
        put(sim.inputs_mut(), s.get("rst"), 1);
        sim.step();
        put(sim.inputs_mut(), s.get("rst"), 0);
        let (mut pushes, mut pops) = (0, 0);
        for cycle in 0..3000 {
            // Phases of mostly pushing and mostly popping, so the queue fills and drains.
            let fill = (cycle / 200) % 2 == 0;
            let push = rng.range(0, 9) < if fill { 7 } else { 3 };
            let pop = rng.range(0, 9) < if fill { 3 } else { 7 };
            let data = rng.range(0, 255) as u64;
            let w = sim.inputs_mut();
            put(w, s.get("in_valid"), u64::from(push));
            put(w, s.get("in_data"), data);
            put(w, s.get("out_ready"), u64::from(pop));
            // The outputs of this cycle (before its clock edge), then the edge.
            sim.step();
            let o = sim.outputs();
            let label = format!("depth {depth}, {reserve} kept free, cycle {cycle}");
            let ready = want.len() < (depth - reserve) as usize;
            assert_eq!(get(o, s.get("in_ready")), u64::from(ready), "{label}");
            assert_eq!(
                get(o, s.get("out_valid")),
                u64::from(!want.is_empty()),
                "{label}"
            );
            assert_eq!(get(o, s.get("count")), want.len() as u64, "{label}");
            if let Some(&head) = want.front() {
                assert_eq!(get(o, s.get("out_data")), head, "{label}: the head");
            }
            // A push is taken while any entry is free (before this cycle's pop); in_ready
            // says so only while more than the reserve is.
            let room = want.len() < depth as usize;
            let popped = pop && !want.is_empty();
            if popped {
                want.pop_front();
                pops += 1;
            }
            if push && room {
                want.push_back(data);
                pushes += 1;
            }
        }
        assert!(
            pushes > 500 && pops > 500,
            "depth {depth}, {reserve} kept free: {pushes} pushes, {pops} pops"
        );
    }
}
