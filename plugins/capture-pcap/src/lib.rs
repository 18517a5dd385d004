//! jj capture backend for live network interfaces, through libpcap.
//!
//! `settings` turns the component's `key=value` options into capture settings (pure,
//! testable without privileges); `plugin` is the thin glue that opens a libpcap handle and
//! exposes it as the `pcap` capture component.
//!
//! Options read (all optional): `snaplen` (bytes, default 262144), `promisc` (default
//! true), `buffer_mb` (kernel buffer in MiB, default 64), `filter` (a BPF expression) and
//! `save_pcap` (also write every delivered frame to this pcap file).
#![deny(unsafe_code)]

pub mod settings;

pub use settings::{interface_name, Settings};

mod plugin {
    use super::settings::{interface_name, Settings};
    use jj_plugin_api::{
        BatchStatus, CaptureFactory, CaptureSource, CaptureStats, FrameBatch, Options, PluginError,
        PluginResult,
    };
    use pcap::{Active, Capture, Device, Precision, Savefile};
    use std::{
        path::Path,
        sync::{Mutex, PoisonError},
        time::{Duration, Instant},
    };

    // Reads are non-blocking: on Linux a blocking libpcap read in immediate mode waits for
    // a frame however long that takes, ignoring the read timeout. `next_batch` waits with
    // poll(2) instead, bounded by `IDLE_AFTER` and `COLLECT_FOR`.

    /// libpcap's read timeout (only matters to buffered, non-immediate capture modes).
    const READ_TIMEOUT_MS: i32 = 100;
    /// No frame within this long: `next_batch` returns `Idle`, so the host checks its stop
    /// flag and advances the flow clock.
    const IDLE_AFTER: Duration = Duration::from_millis(100);
    /// Once a frame arrived, keep collecting for at most this long (or until the batch is
    /// full).
    const COLLECT_FOR: Duration = Duration::from_millis(50);

    /// Linux delivers nanosecond timestamps when asked; elsewhere stay with microseconds
    /// (the precision actually granted cannot be queried through the safe bindings).
    #[cfg(target_os = "linux")]
    const PRECISION: Precision = Precision::Nano;
    #[cfg(target_os = "linux")]
    const NS_PER_FRACTION: i64 = 1;
    #[cfg(not(target_os = "linux"))]
    const PRECISION: Precision = Precision::Micro;
    #[cfg(not(target_os = "linux"))]
    const NS_PER_FRACTION: i64 = 1_000;

    const PRIVILEGE_HINT: &str = "run as root or grant CAP_NET_RAW,CAP_NET_ADMIN \
        (e.g. `setcap cap_net_raw,cap_net_admin=eip` on the jj binary)";

    pub struct PcapCapture;

    /// libpcap's counters are 32-bit and may wrap: extend them to 64 bits.
    #[derive(Default, Clone, Copy)]
    struct Drops {
        raw_kernel: u32,
        raw_iface: u32,
        kernel: u64,
        iface: u64,
    }

    impl Drops {
        fn update(&mut self, s: pcap::Stat) {
            self.kernel += u64::from(s.dropped.wrapping_sub(self.raw_kernel));
            self.iface += u64::from(s.if_dropped.wrapping_sub(self.raw_iface));
            self.raw_kernel = s.dropped;
            self.raw_iface = s.if_dropped;
        }
    }

    /// The handle and its drop counters. `stats(&self)` must query libpcap, which takes
    /// `&mut`, hence the (never contended) mutex; `next_batch` uses `get_mut`.
    struct Live {
        cap: Capture<Active>,
        drops: Drops,
    }

    impl Live {
        fn refresh_drops(&mut self) -> Drops {
            if let Ok(s) = self.cap.stats() {
                self.drops.update(s);
            }
            self.drops
        }
    }

    pub struct PcapSource {
        iface: String,
        live: Mutex<Live>,
        linktype: u32,
        savefile: Option<(Savefile, String)>,
        frames: u64,
        bytes: u64,
        /// An error met after frames were appended: returned by the next call.
        pending: Option<PluginError>,
        ended: bool,
    }

    impl CaptureFactory for PcapCapture {
        type Source = PcapSource;
        fn options(&self) -> Option<Vec<jj_plugin_api::OptionSpec>> {
            Some(super::settings::OPTIONS.to_vec())
        }

        fn probe(&self, source: &str) -> u8 {
            if let Some(name) = source.strip_prefix("iface:") {
                return if name.is_empty() { 0 } else { 100 };
            }
            // Files keep going to the file backend.
            if source.is_empty() || Path::new(source).is_file() {
                return 0;
            }
            match Device::list() {
                Ok(devices) if devices.iter().any(|d| d.name == source) => 100,
                _ => 0,
            }
        }

        fn open(&self, source: &str, options: &Options) -> PluginResult<PcapSource> {
            let settings = Settings::from_options(options)?;
            let iface = interface_name(source).to_string();
            if iface.is_empty() {
                return Err(PluginError::config(
                    "no interface named: give one, e.g. `lo` or `iface:eth0`",
                ));
            }
            let cap = match activate(&iface, &settings, settings.promisc) {
                Ok(c) => c,
                // Some devices (e.g. Linux `any`) refuse promiscuous mode: libpcap reports a
                // warning, which the bindings turn into an error. Retry once without it.
                Err(first) if settings.promisc => match activate(&iface, &settings, false) {
                    Ok(c) => c,
                    Err(_) => return Err(activation_error(&iface, &first)),
                },
                Err(e) => return Err(activation_error(&iface, &e)),
            };
            let mut cap = cap.setnonblock().map_err(|e| {
                PluginError::io(format!(
                    "cannot capture on interface '{iface}': non-blocking mode: {}",
                    pcap_message(&e)
                ))
            })?;
            if let Some(filter) = &settings.filter {
                cap.filter(filter, true).map_err(|e| {
                    PluginError::config(format!(
                        "bad capture filter '{filter}': {}",
                        pcap_message(&e)
                    ))
                })?;
            }
            let linktype = u32::try_from(cap.get_datalink().0).unwrap_or(0);
            let savefile = match &settings.save_pcap {
                Some(path) => Some((
                    cap.savefile(path).map_err(|e| {
                        PluginError::io(format!(
                            "cannot create the save_pcap file '{path}': {}",
                            pcap_message(&e)
                        ))
                    })?,
                    path.clone(),
                )),
                None => None,
            };
            Ok(PcapSource {
                iface,
                live: Mutex::new(Live {
                    cap,
                    drops: Drops::default(),
                }),
                linktype,
                savefile,
                frames: 0,
                bytes: 0,
                pending: None,
                ended: false,
            })
        }
    }

    fn activate(iface: &str, s: &Settings, promisc: bool) -> Result<Capture<Active>, pcap::Error> {
        Capture::from_device(iface)?
            .snaplen(s.snaplen)
            .promisc(promisc)
            .buffer_size(s.buffer_bytes)
            .immediate_mode(true)
            .timeout(READ_TIMEOUT_MS)
            .precision(PRECISION)
            .open()
    }

    /// Waits until the capture has frames to read or `timeout` passed. A signal (Ctrl-C)
    /// ends the wait early, which is fine: the caller re-checks its deadlines.
    #[cfg(unix)]
    fn wait_readable(cap: &Capture<Active>, timeout: Duration) -> Result<(), String> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        // Round up so a sub-millisecond remainder does not spin.
        let ms = timeout.as_micros().div_ceil(1000).clamp(1, 1000) as u16;
        let mut fds = [PollFd::new(cap.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[cfg(not(unix))]
    fn wait_readable(_cap: &Capture<Active>, timeout: Duration) -> Result<(), String> {
        std::thread::sleep(timeout.min(Duration::from_millis(5)));
        Ok(())
    }

    /// A packet's timestamp in nanoseconds since the epoch (`tv_usec` holds nanoseconds
    /// when `PRECISION` is `Nano`).
    // `time_t` / `suseconds_t` are `i64` on some targets only.
    #[allow(clippy::unnecessary_cast)]
    fn timestamp_ns(h: &pcap::PacketHeader) -> i64 {
        let ts = &h.ts;
        (ts.tv_sec as i64)
            .saturating_mul(1_000_000_000)
            .saturating_add((ts.tv_usec as i64).saturating_mul(NS_PER_FRACTION))
    }

    /// libpcap's own text, without the bindings' "libpcap error: " prefix.
    fn pcap_message(e: &pcap::Error) -> String {
        match e {
            pcap::Error::PcapError(s) => s.clone(),
            other => other.to_string(),
        }
    }

    fn activation_error(iface: &str, e: &pcap::Error) -> PluginError {
        let msg = pcap_message(e);
        let lower = msg.to_ascii_lowercase();
        if lower.contains("permission") || lower.contains("not permitted") {
            return PluginError::io(format!(
                "cannot capture on interface '{iface}': {msg} — {PRIVILEGE_HINT}"
            ));
        }
        if lower.contains("no such device") {
            let names = Device::list()
                .map(|d| d.into_iter().map(|d| d.name).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            return PluginError::io(format!(
                "no such interface '{iface}' ({msg}); interfaces: {}",
                if names.is_empty() {
                    "none found"
                } else {
                    &names
                }
            ));
        }
        PluginError::io(format!("cannot capture on interface '{iface}': {msg}"))
    }

    impl PcapSource {
        fn flush_savefile(&mut self) -> PluginResult<()> {
            if let Some((file, path)) = &mut self.savefile {
                file.flush().map_err(|e| {
                    PluginError::io(format!(
                        "cannot write the save_pcap file '{path}': {}",
                        pcap_message(&e)
                    ))
                })?;
            }
            Ok(())
        }
    }

    impl CaptureSource for PcapSource {
        fn next_batch(&mut self, batch: &mut FrameBatch) -> PluginResult<BatchStatus> {
            if let Some(e) = self.pending.take() {
                self.ended = true;
                return Err(e);
            }
            if self.ended {
                return Ok(BatchStatus::End);
            }
            let max_frames = (batch.max_frames as usize).max(1);
            let max_bytes = (batch.max_bytes as usize).max(1);
            let start = Instant::now();
            let mut first: Option<Instant> = None;
            let mut failure: Option<PluginError> = None;
            let live = self.live.get_mut().unwrap_or_else(PoisonError::into_inner);
            loop {
                if batch.frames.len() >= max_frames || batch.data.len() >= max_bytes {
                    break;
                }
                if first.is_some_and(|t| t.elapsed() >= COLLECT_FOR) {
                    break;
                }
                match live.cap.next_packet() {
                    Ok(p) => {
                        let h = p.header;
                        batch.push(timestamp_ns(h), p.data, h.len, self.linktype, 0);
                        if let Some((file, _)) = &mut self.savefile {
                            file.write(&p);
                        }
                        self.frames += 1;
                        self.bytes += p.data.len() as u64;
                        first.get_or_insert_with(Instant::now);
                    }
                    // Nothing waiting (non-blocking read): wait for the descriptor.
                    Err(pcap::Error::TimeoutExpired) => {
                        let deadline = match first {
                            None => start + IDLE_AFTER,
                            Some(t) => t + COLLECT_FOR,
                        };
                        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                            break;
                        };
                        if let Err(e) = wait_readable(&live.cap, left) {
                            failure = Some(PluginError::io(format!(
                                "capture on interface '{}' failed: waiting for frames: {e}",
                                self.iface
                            )));
                            break;
                        }
                    }
                    // pcap_breakloop or the end of a savefile-backed source.
                    Err(pcap::Error::NoMorePackets) => {
                        self.ended = true;
                        break;
                    }
                    Err(e) => {
                        failure = Some(PluginError::io(format!(
                            "capture on interface '{}' failed: {}",
                            self.iface,
                            pcap_message(&e)
                        )));
                        break;
                    }
                }
            }
            live.refresh_drops();
            let delivered = !batch.frames.is_empty();
            if delivered {
                if let Err(e) = self.flush_savefile() {
                    failure.get_or_insert(e);
                }
            }
            if let Some(e) = failure {
                if delivered {
                    // Deliver the good frames first; fail on the next call.
                    self.pending = Some(e);
                } else {
                    self.ended = true;
                    return Err(e);
                }
            }
            Ok(match (delivered, self.ended) {
                (_, true) => BatchStatus::End,
                (true, false) => BatchStatus::Frames,
                (false, false) => BatchStatus::Idle,
            })
        }

        fn stats(&self) -> CaptureStats {
            let drops = match self.live.lock() {
                Ok(mut live) => live.refresh_drops(),
                Err(poisoned) => poisoned.into_inner().drops,
            };
            CaptureStats {
                frames: self.frames,
                bytes: self.bytes,
                kernel_drops: drops.kernel,
                iface_drops: drops.iface,
                ..CaptureStats::default()
            }
        }
    }

    impl Drop for PcapSource {
        /// A run stopped by Ctrl-C / SIGTERM drops the source: leave a complete pcap file
        /// (every batch is flushed too, so even a killed run leaves a readable one).
        fn drop(&mut self) {
            let _ = self.flush_savefile();
        }
    }
}

pub use plugin::{PcapCapture, PcapSource};

jj_plugin_api::export_plugin! {
    name: "jj-capture-pcap",
    version: env!("CARGO_PKG_VERSION"),
    captures: [ "pcap" => ("live capture from network interfaces (libpcap)", PcapCapture) ],
}

#[cfg(test)]
mod tests {
    use super::*;
    use jj_plugin_api::{CaptureFactory, ErrorKind, Options};

    #[test]
    fn probe_leaves_files_to_the_file_backend() {
        let f = std::env::temp_dir().join(format!("jj-capture-pcap-probe-{}", std::process::id()));
        std::fs::write(&f, b"x").unwrap();
        assert_eq!(PcapCapture.probe(f.to_str().unwrap()), 0);
        let _ = std::fs::remove_file(&f);
        assert_eq!(PcapCapture.probe(""), 0);
        assert_eq!(PcapCapture.probe("iface:"), 0);
        assert_eq!(PcapCapture.probe("no-such-interface-0"), 0);
        assert_eq!(PcapCapture.probe("iface:eth7"), 100);
    }

    #[test]
    fn probe_finds_listed_interfaces() {
        // Listing interfaces needs no privileges.
        if let Ok(devices) = pcap::Device::list() {
            for d in devices {
                if !std::path::Path::new(&d.name).is_file() {
                    assert_eq!(PcapCapture.probe(&d.name), 100, "{}", d.name);
                }
            }
        }
    }

    #[test]
    fn bad_options_fail_before_touching_the_device() {
        let e = PcapCapture
            .open("iface:lo", &Options::parse("snaplen=nope"))
            .err()
            .expect("error");
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(e.message.as_str().contains("snaplen"));
    }
}
