//! JoyfulJay's optional temporal connection features (`connection_include_temporal`,
//! not in its schema): per node, over the flows it initiated *or* responded to.
//!
//! * `conn_src_flow_rate` — flows the node initiated / (latest last-packet time − earliest
//!   first-packet time) in seconds; 0 when that span is not positive;
//! * `conn_temporal_spread` — population standard deviation of the first-packet times
//!   (seconds); 0 for fewer than two;
//! * `conn_burst_connections` — the longest run of sorted first-packet times whose
//!   consecutive gaps are at most 1 s; 0 when the node has no time at all.
//!
//! A flow whose endpoints are the same node contributes its time twice (as initiator and
//! as responder), as in the reference. Flows without times (their first pass failed)
//! are left out.
#![forbid(unsafe_code)]

/// One flow's endpoints and times in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlowTimes {
    pub src: u32,
    pub dst: u32,
    /// First and last packet time (seconds since the epoch), when known.
    pub span: Option<(f64, f64)>,
}

/// The three temporal values of a node.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NodeTemporal {
    pub flow_rate: f64,
    pub spread: f64,
    pub burst: u64,
}

/// Longest run of `sorted` times with consecutive gaps ≤ 1 s.
fn longest_burst(sorted: &[f64]) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let (mut best, mut run) = (1u64, 1u64);
    for w in sorted.windows(2) {
        if w[1] - w[0] <= 1.0 {
            run += 1;
            best = best.max(run);
        } else {
            run = 1;
        }
    }
    best
}

/// The temporal values of nodes `0..n`; `out_flows[v]` = flows node `v` initiated.
pub fn node_temporal(n: usize, flows: &[FlowTimes], out_flows: &[u64]) -> Vec<NodeTemporal> {
    let mut first = vec![f64::INFINITY; n];
    let mut last = vec![0.0f64; n];
    // Start times per node (CSR, flow order within a node).
    let mut count = vec![0usize; n + 1];
    for f in flows.iter().filter(|f| f.span.is_some()) {
        count[f.src as usize + 1] += 1;
        count[f.dst as usize + 1] += 1;
    }
    for i in 0..n {
        count[i + 1] += count[i];
    }
    let mut next = count[..n].to_vec();
    let mut starts = vec![0.0f64; count[n]];
    for f in flows {
        let Some((start, end)) = f.span else { continue };
        for v in [f.src as usize, f.dst as usize] {
            first[v] = first[v].min(start);
            last[v] = last[v].max(end);
            starts[next[v]] = start;
            next[v] += 1;
        }
    }
    let mut sorted = Vec::new();
    (0..n)
        .map(|v| {
            let times = &starts[count[v]..count[v + 1]];
            let span = last[v] - first[v];
            let flow_rate = if span > 0.0 {
                out_flows[v] as f64 / span
            } else {
                0.0
            };
            let spread = if times.len() > 1 {
                jj_kit::stats::pop_std(times)
            } else {
                0.0
            };
            sorted.clear();
            sorted.extend_from_slice(times);
            sorted.sort_by(f64::total_cmp);
            NodeTemporal {
                flow_rate,
                spread,
                burst: longest_burst(&sorted),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Node 0 initiates flows at t = 10 (until 11), 10.5 (until 12) and 20 (until 20.5)
    /// to node 1. Node 0: 3 flows over 20.5 − 10 = 10.5 s → 3/10.5; starts 10, 10.5, 20:
    /// mean 13.5, deviations −3.5, −3, 6.5, squares 12.25 + 9 + 42.25 = 63.5, /3 →
    /// √(63.5/3); sorted gaps 0.5 (≤ 1) and 9.5 → longest run 2. Node 1 initiated
    /// nothing: rate 0, same spread and burst.
    #[test]
    fn rate_spread_burst() {
        let f = |span| FlowTimes {
            src: 0,
            dst: 1,
            span: Some(span),
        };
        let flows = [f((10.0, 11.0)), f((10.5, 12.0)), f((20.0, 20.5))];
        let t = node_temporal(2, &flows, &[3, 0]);
        assert_eq!(t[0].flow_rate.to_bits(), (3.0f64 / 10.5).to_bits());
        assert_eq!(t[0].spread.to_bits(), (63.5f64 / 3.0).sqrt().to_bits());
        assert_eq!(t[0].burst, 2);
        assert_eq!(t[1].flow_rate.to_bits(), 0.0f64.to_bits());
        assert_eq!(t[1].burst, 2);
    }

    /// One flow of one packet: span 0 → rate 0; one start → spread 0, burst 1. A node
    /// whose only flow has no times: burst 0.
    #[test]
    fn degenerate() {
        let flows = [
            FlowTimes {
                src: 0,
                dst: 1,
                span: Some((5.0, 5.0)),
            },
            FlowTimes {
                src: 2,
                dst: 1,
                span: None,
            },
        ];
        let t = node_temporal(3, &flows, &[1, 0, 1]);
        assert_eq!(
            t[0],
            NodeTemporal {
                flow_rate: 0.0,
                spread: 0.0,
                burst: 1
            }
        );
        assert_eq!(
            t[2],
            NodeTemporal {
                flow_rate: 0.0,
                spread: 0.0,
                burst: 0
            }
        );
    }
}
