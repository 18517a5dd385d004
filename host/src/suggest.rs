//! "Did you mean …?" for unknown names (features, config keys): the known name closest
//! to what the user typed, when it is close enough to be a typo.

/// Edit distance between `a` and `b`, case-insensitive, counting an insertion, a deletion,
/// a substitution or a swap of two neighbouring characters as one edit (optimal string
/// alignment distance).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    // rows i-2, i-1 and i of the (a.len()+1) × (b.len()+1) table
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `name` if it is at most one edit away per three characters of
/// `name` (at least one edit); on a tie, the first such candidate in `candidates`' order.
/// `None` when nothing is that close or `name` is itself a candidate.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name {
            return None;
        }
        let d = distance(name, c);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `"; did you mean 'x'?"` for the closest candidate, or an empty string.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, candidates)
        .map(|c| format!("; did you mean '{c}'?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_single_edits() {
        // worked by hand: each pair differs by the edits named
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("", "ab"), 2);
        assert_eq!(distance("timeout", "timeout"), 0);
        assert_eq!(distance("timeuot", "timeout"), 1); // swap "uo"
        assert_eq!(distance("profil", "profile"), 1); // insertion
        assert_eq!(distance("proffile", "profile"), 1); // deletion
        assert_eq!(distance("pkt_len_maen", "pkt_len_mean"), 1); // swap "ae"
        assert_eq!(distance("pkt_len_mode", "pkt_len_mean"), 3); // o→e, d→a, e→n
        assert_eq!(distance("Profile", "profile"), 0); // case-insensitive
        assert_eq!(distance("kitten", "sitting"), 3); // k→s, e→i, +g
                                                      // optimal string alignment: a swapped pair is not edited again, so "ca" → "abc"
                                                      // is 3 (true Damerau distance: 2)
        assert_eq!(distance("ca", "abc"), 3);
        // symmetric
        for (a, b) in [("flow_id", "flowid"), ("ja3", "ja4s"), ("a", "ba")] {
            assert_eq!(distance(a, b), distance(b, a), "{a} / {b}");
        }
    }

    #[test]
    fn closest_takes_the_nearest_within_one_edit_per_three_chars() {
        let keys = [
            "timeout",
            "active_timeout",
            "profile",
            "features",
            "feature",
        ];
        assert_eq!(closest("timeuot", keys), Some("timeout"));
        assert_eq!(closest("profil", keys), Some("profile"));
        // "featurs" is 1 from "features" and 1 from "feature": the first listed wins
        assert_eq!(closest("featurs", keys), Some("features"));
        // too far: 5 chars allow 1 edit
        assert_eq!(closest("xyzzy", keys), None);
        assert_eq!(closest("acttive_tmeout", keys), Some("active_timeout"));
        // a known name is not a typo
        assert_eq!(closest("timeout", keys), None);
        // short names still get one edit
        assert_eq!(closest("ja", ["ja3", "ja4"]), Some("ja3"));
        assert_eq!(closest("x", ["ja3"]), None);
        assert_eq!(did_you_mean("profil", keys), "; did you mean 'profile'?");
        assert_eq!(did_you_mean("xyzzy", keys), "");
    }
}
