//! Progress for long steps (Verilator builds, place and route) on stderr: on a terminal one
//! line with a spinner and the elapsed seconds, rewritten in place; in a log, a plain line
//! every `interval`.

use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running progress indicator; [`Heartbeat::finish`] (or dropping it) stops it.
pub struct Heartbeat {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// Prints `what` at once, then keeps showing that it is still running.
    pub fn start(what: &str, interval: Duration) -> Heartbeat {
        let tty = std::io::stderr().is_terminal();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let what = what.to_string();
        if !tty {
            eprintln!("npugen: {what} ...");
        }
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut last = Instant::now();
            let spinner = ['|', '/', '-', '\\'];
            let mut i = 0;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let secs = start.elapsed().as_secs();
                if tty {
                    eprint!("\rnpugen: {what} {} {secs} s ", spinner[i % 4]);
                    i += 1;
                    let _ = std::io::stderr().flush();
                } else if last.elapsed() >= interval {
                    eprintln!("npugen: ... still {what} ({secs} s)");
                    last = Instant::now();
                }
            }
            if tty {
                eprintln!(
                    "\rnpugen: {what} done in {:.1} s   ",
                    start.elapsed().as_secs_f64()
                );
            }
        });
        Heartbeat {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the indicator (and, on a terminal, ends its line).
    pub fn finish(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.halt();
    }
}
