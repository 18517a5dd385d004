//! Options handed from the host to a component: a flat list of `key=value` lines.
//!
//! The host passes every engine option (`compat`, `include_sequences`,
//! `max_sequence_length`, `burst_threshold_ms`, ...) plus the `[plugins.<name>]` table of
//! the config file. Plain text keeps the ABI small and lets C plugins read it too.

/// Parsed options. Keys are unique; later lines override earlier ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    pairs: Vec<(String, String)>,
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
    }
}
