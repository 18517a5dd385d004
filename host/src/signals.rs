//! Ctrl-C / SIGTERM: the first signal asks the run to stop at the next batch, flush every
//! open flow and close the output cleanly; a second one exits at once.
use std::sync::{
    atomic::{AtomicBool, Ordering},
    OnceLock,
};

static STOP: AtomicBool = AtomicBool::new(false);

/// The process-wide stop flag, with the signal handler installed on first use.
pub fn stop_flag() -> &'static AtomicBool {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                eprintln!("jj: second interrupt: exiting without flushing");
                std::process::exit(130);
            }
            eprintln!("jj: interrupt: flushing open flows and closing the output (interrupt again to abort)");
        });
    });
    &STOP
}
