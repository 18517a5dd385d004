//! Options handed from the host to a component: a flat list of `key=value` lines.
//!
//! The host passes every engine option (`compat`, `include_sequences`,
//! `max_sequence_length`, `burst_threshold_ms`, ...) plus the `[plugins.<name>]` table of
//! the config file. Plain text keeps the ABI small and lets C plugins read it too.

/// One option key a component reads, with a line of help (plugin-api 1.4; see
/// [`crate::ExtractorFactory::options`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionSpec {
    pub key: &'static str,
    pub help: &'static str,
}

impl OptionSpec {
    pub const fn new(key: &'static str, help: &'static str) -> OptionSpec {
        OptionSpec { key, help }
    }
}

/// For a component's tests, after it has read its options from `options`: `Err` naming
/// the keys it read but does not declare and the keys it declares but did not read (a
/// declared key ending in `*` covers every key with that prefix and need not be read).
pub fn check_declared(declared: &[OptionSpec], options: &Options) -> Result<(), String> {
    match declaration_gaps(declared, options) {
        (undeclared, unread) if undeclared.is_empty() && unread.is_empty() => Ok(()),
        (undeclared, unread) => Err(format!(
            "read but not declared: {undeclared:?}; declared but not read: {unread:?}"
        )),
    }
}

/// The keys read but not declared, and those declared but not read (see [`check_declared`]).
fn declaration_gaps(declared: &[OptionSpec], options: &Options) -> (Vec<String>, Vec<String>) {
    let read = options.keys_read();
    let covers = |d: &OptionSpec, k: &str| match d.key.strip_suffix('*') {
        Some(prefix) => k.starts_with(prefix),
        None => d.key == k,
    };
    let undeclared = read
        .iter()
        .filter(|k| !declared.iter().any(|d| covers(d, k)))
        .cloned()
        .collect();
    let unread = declared
        .iter()
        .filter(|d| !d.key.ends_with('*') && !read.iter().any(|k| k == d.key))
        .map(|d| d.key.to_string())
        .collect();
    (undeclared, unread)
}

/// Parsed options. Keys are unique; later lines override earlier ones.
///
/// Every key looked up is remembered ([`Options::keys_read`]), so a component's tests can
/// check that it declares every option it reads.
#[derive(Debug, Default)]
pub struct Options {
    pairs: Vec<(String, String)>,
    read: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl Clone for Options {
    fn clone(&self) -> Options {
        Options {
            pairs: self.pairs.clone(),
            read: Default::default(),
        }
    }
}

/// Equal when they hold the same pairs (what was read does not count).
impl PartialEq for Options {
    fn eq(&self, other: &Options) -> bool {
        self.pairs == other.pairs
    }
}

impl Options {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `key=value` lines; blank lines and lines starting with `#` are ignored.
    pub fn parse(text: &str) -> Self {
        let mut o = Options::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                o.set(k.trim(), v.trim());
            }
        }
        o
    }

    pub fn set(&mut self, key: &str, value: impl ToString) {
        let value = value.to_string();
        if let Some(slot) = self.pairs.iter_mut().find(|(k, _)| k == key) {
            slot.1 = value;
        } else {
            self.pairs.push((key.to_string(), value));
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        if let Ok(mut read) = self.read.lock() {
            if !read.contains(key) {
                read.insert(key.to_string());
            }
        }
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn get_bool(&self, key: &str, default: bool) -> bool {
        match self.get(key) {
            Some("true" | "1" | "yes" | "on") => true,
            Some("false" | "0" | "no" | "off") => false,
            _ => default,
        }
    }

    pub fn get_u64(&self, key: &str, default: u64) -> u64 {
        self.get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    pub fn get_f64(&self, key: &str, default: f64) -> f64 {
        self.get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    /// `compat=joyfuljay` selects JoyfulJay-compatible behaviour (see docs/deviations.md).
    pub fn compat_joyfuljay(&self) -> bool {
        self.get("compat") == Some("joyfuljay")
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Every key looked up so far through `get` and the typed getters, sorted.
    pub fn keys_read(&self) -> Vec<String> {
        self.read
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Serialises back to the `key=value` text form.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.pairs {
            s.push_str(k);
            s.push('=');
            s.push_str(v);
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trip() {
        let o = Options::parse("a=1\n# c\n\nb = x y \na=2\n");
        assert_eq!(o.get("a"), Some("2"));
        assert_eq!(o.get("b"), Some("x y"));
        assert_eq!(o.get_u64("a", 0), 2);
        assert!(!o.get_bool("missing", false));
        assert_eq!(Options::parse(&o.to_text()), o);
        // every lookup is remembered, found or not, and only once
        assert_eq!(o.keys_read(), ["a", "b", "missing"]);
        assert!(!o.compat_joyfuljay());
        assert_eq!(o.keys_read(), ["a", "b", "compat", "missing"]);
        assert!(o.clone().keys_read().is_empty());
    }

    #[test]
    fn declaration_gaps_compare_what_was_read_with_what_is_declared() {
        const DECLARED: &[OptionSpec] = &[
            OptionSpec::new("a", ""),
            OptionSpec::new("b", ""),
            OptionSpec::new("x.*", ""),
        ];
        let o = Options::parse("x.y=1");
        o.get("a");
        o.get("c");
        o.get("x.y");
        let (undeclared, unread) = declaration_gaps(DECLARED, &o);
        assert_eq!(undeclared, ["c"]);
        assert_eq!(unread, ["b"]);
        assert_eq!(
            check_declared(DECLARED, &o),
            Err(r#"read but not declared: ["c"]; declared but not read: ["b"]"#.to_string())
        );
        o.get("b");
        assert_eq!(declaration_gaps(DECLARED, &o).1, Vec::<String>::new());
        assert!(check_declared(&DECLARED[..2], &Options::parse("")).is_err());
        let all = Options::new();
        all.get("a");
        all.get("b");
        assert_eq!(check_declared(DECLARED, &all), Ok(()));
    }
}
