//! Ctrl-C / SIGTERM: the first signal asks the run to stop at the next batch, flush every
//! open flow and close the output cleanly; a second one exits at once.
use std::sync::{
    atomic::{AtomicBool, Ordering},
    OnceLock,
};

static STOP: AtomicBool = AtomicBool::new(false);
/// Set by the signal handler only (a `--duration` timer sets `STOP` alone), so that only
/// a second *signal* aborts without flushing.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// The process-wide stop flag, with the signal handler installed on first use.
pub fn stop_flag() -> &'static AtomicBool {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = ctrlc::set_handler(|| {
            STOP.store(true, Ordering::SeqCst);
            if SIGNALLED.swap(true, Ordering::SeqCst) {
                eprintln!("jj: second interrupt: exiting without flushing");
                std::process::exit(130);
            }
            eprintln!("jj: interrupt: flushing open flows and closing the output (interrupt again to abort)");
        });
    });
    &STOP
}
