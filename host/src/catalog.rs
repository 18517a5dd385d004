//! The runtime schema: features of the loaded extractors, in JoyfulJay's group order,
//! plus profile membership from `resources/profiles/*.txt`.
use crate::loader::{ExtractorFactoryHandle, Plugins};
use jj_plugin_api::{abi_stable::std_types::RStr, ExtractorInfo, FeatureMeta, Options};
use std::collections::{HashMap, HashSet};

/// JoyfulJay's output group order. Groups of other plugins follow, sorted by name.
pub const GROUP_ORDER: [&str; 23] = [
    "flow_meta",
    "timing",
    "size",
    "tcp",
    "tls",
    "quic",
    "http2",
    "ssh",
    "dns",
    "padding",
    "fingerprint",
    "entropy",
    "mac",
    "ip_extended",
    "ipv6_options",
    "tcp_sequence",
    "tcp_window",
    "tcp_options",
    "tcp_mptcp",
    "tcp_rtt",
    "tcp_fingerprint",
    "icmp",
    "connection",
];

/// The profile files shipped with jj (feature ids, one per line).
pub const BUILTIN_PROFILES: [(&str, &str); 3] = [
    (
        "JJ-CORE",
        include_str!("../../resources/profiles/JJ-CORE.txt"),
    ),
    (
        "JJ-EXTENDED",
        include_str!("../../resources/profiles/JJ-EXTENDED.txt"),
    ),
    (
        "JJ-EXPERIMENTAL",
        include_str!("../../resources/profiles/JJ-EXPERIMENTAL.txt"),
    ),
];

pub struct Profile {
    pub name: String,
    pub ids: Vec<String>,
    /// Ids listed more than once in the file.
    pub duplicates: Vec<String>,
}

pub fn parse_profile(name: &str, text: &str) -> Profile {
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    let mut duplicates = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if seen.insert(l.to_string()) {
            ids.push(l.to_string());
        } else {
            duplicates.push(l.to_string());
        }
    }
    Profile {
        name: name.to_string(),
        ids,
        duplicates,
    }
}

pub fn builtin_profiles() -> Vec<Profile> {
    BUILTIN_PROFILES
        .iter()
        .map(|(n, t)| parse_profile(n, t))
        .collect()
}

/// One extractor as it will run: its component index and its description under the options.
pub struct ExtractorEntry {
    pub component: usize,
    pub name: String,
    pub info: ExtractorInfo,
}

/// All features of the loaded extractors under the given options.
pub struct Catalog {
    pub extractors: Vec<ExtractorEntry>,
    pub profiles: Vec<Profile>,
    /// Problems found while building (duplicate columns, failing `describe`).
    pub warnings: Vec<String>,
    /// Extractors that rejected the options (`ErrorKind::Config`): fatal for a run.
    pub option_errors: Vec<String>,
}

fn group_rank(group: &str) -> (usize, String) {
    match GROUP_ORDER.iter().position(|g| *g == group) {
        Some(i) => (i, String::new()),
        None => (GROUP_ORDER.len(), group.to_string()),
    }
}

impl Catalog {
    pub fn build(plugins: &Plugins, options: &Options) -> Catalog {
        let text = options.to_text();
        let mut warnings = Vec::new();
        let mut option_errors = Vec::new();
        let mut entries = Vec::new();
        for (i, comp) in plugins.extractors.iter().enumerate() {
            let info = match &comp.factory {
                ExtractorFactoryHandle::Rust(f) => f.describe(RStr::from_str(&text)).into_result(),
                ExtractorFactoryHandle::C(lib) => Ok(lib.info()),
            };
            match info {
                Ok(info) => entries.push(ExtractorEntry {
                    component: i,
                    name: comp.name.clone(),
                    info,
                }),
                Err(e) if e.kind == jj_plugin_api::ErrorKind::Config => {
                    option_errors.push(format!("extractor '{}': {}", comp.name, e.message))
                }
                Err(e) => {
                    warnings.push(format!("extractor '{}' skipped: {}", comp.name, e.message))
                }
            }
        }
        entries.sort_by(|a, b| {
            group_rank(a.info.group.as_str())
                .cmp(&group_rank(b.info.group.as_str()))
                .then_with(|| a.name.cmp(&b.name))
        });
        // Column names must be unique across extractors: the first (in group order) wins.
        let mut names: HashSet<String> = HashSet::new();
        let mut kept = Vec::new();
        for e in entries {
            if let Some(clash) = e
                .info
                .features
                .iter()
                .find(|f| names.contains(f.name.as_str()))
            {
                warnings.push(format!(
                    "extractor '{}' skipped: its column '{}' is already produced by another extractor",
                    e.name, clash.name
                ));
                continue;
            }
            names.extend(e.info.features.iter().map(|f| f.name.to_string()));
            kept.push(e);
        }
        Catalog {
            extractors: kept,
            profiles: builtin_profiles(),
            warnings,
            option_errors,
        }
    }

    /// Every feature in output order with the index of its extractor.
    pub fn features(&self) -> impl Iterator<Item = (usize, &FeatureMeta)> {
        self.extractors
            .iter()
            .enumerate()
            .flat_map(|(i, e)| e.info.features.iter().map(move |f| (i, f)))
    }

    /// The profiles a feature belongs to: the profile files, or, for an id no file lists,
    /// the profile its plugin declares.
    pub fn profiles_of(&self, f: &FeatureMeta) -> Vec<String> {
        let listed: Vec<String> = self
            .profiles
            .iter()
            .filter(|p| p.ids.iter().any(|id| id == f.id.as_str()))
            .map(|p| p.name.clone())
            .collect();
        if !listed.is_empty() {
            return listed;
        }
        if f.profile.is_empty() {
            Vec::new()
        } else {
            vec![f.profile.to_string()]
        }
    }

    pub fn profile_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.profiles.iter().map(|p| p.name.clone()).collect();
        for (_, f) in self.features() {
            let p = f.profile.to_string();
            if !p.is_empty() && !names.contains(&p) {
                names.push(p);
            }
        }
        names
    }

    /// Ids of the loaded features in `profile`, in output order.
    pub fn profile_members(&self, profile: &str) -> Vec<&FeatureMeta> {
        self.features()
            .map(|(_, f)| f)
            .filter(|f| self.profiles_of(f).iter().any(|p| p == profile))
            .collect()
    }

    /// Checks the profiles against the loaded features: duplicates, malformed ids,
    /// features in no profile or in several (problems), and ids that no loaded plugin
    /// provides (reported separately: a minimal install legitimately lacks plugins).
    pub fn validate_profiles(&self) -> (Vec<String>, Vec<(String, Vec<String>)>) {
        let mut problems = Vec::new();
        let mut not_provided = Vec::new();
        let loaded: HashMap<&str, &FeatureMeta> =
            self.features().map(|(_, f)| (f.id.as_str(), f)).collect();
        for p in &self.profiles {
            for d in &p.duplicates {
                problems.push(format!("{}: '{d}' is listed more than once", p.name));
            }
            let mut missing = Vec::new();
            for id in &p.ids {
                match id.split_once('.') {
                    Some((g, n)) if !g.is_empty() && !n.is_empty() => {}
                    _ => problems.push(format!(
                        "{}: '{id}' is not a feature id (expected group.name)",
                        p.name
                    )),
                }
                if !loaded.contains_key(id.as_str()) {
                    missing.push(id.clone());
                }
            }
            if !missing.is_empty() {
                not_provided.push((p.name.clone(), missing));
            }
        }
        for (_, f) in self.features() {
            let ps = self.profiles_of(f);
            if ps.is_empty() {
                problems.push(format!("{}: in no profile", f.id));
            } else if ps.len() > 1 {
                problems.push(format!("{}: in several profiles ({})", f.id, ps.join(", ")));
            }
        }
        (problems, not_provided)
    }

    /// Chooses output columns. No selector = every loaded feature. Unknown names are errors.
    /// The selected columns: the union of `profile`, `groups` (`all` = every group) and
    /// `names`. With no selector at all: every feature, except those of two-pass
    /// extractors (`needs_all_flows`) unless `two_pass_by_default` — they hold rows for a
    /// whole graph window, so they are asked for by name, group, profile or `all`.
    pub fn select(
        &self,
        profile: Option<&str>,
        groups: &[String],
        names: &[String],
        two_pass_by_default: bool,
    ) -> Result<Selection, String> {
        let all: Vec<(usize, usize, &FeatureMeta)> = self
            .extractors
            .iter()
            .enumerate()
            .flat_map(|(e, x)| {
                x.info
                    .features
                    .iter()
                    .enumerate()
                    .map(move |(i, f)| (e, i, f))
            })
            .collect();
        if let Some(p) = profile {
            if !self.profile_names().iter().any(|n| n == p) {
                return Err(format!(
                    "unknown profile '{p}' (available: {})",
                    self.profile_names().join(", ")
                ));
            }
        }
        let every_group = groups.iter().any(|g| g == "all");
        for g in groups {
            if g != "all" && !self.extractors.iter().any(|e| e.info.group.as_str() == g) {
                let known: Vec<&str> = self
                    .extractors
                    .iter()
                    .map(|e| e.info.group.as_str())
                    .collect();
                return Err(format!(
                    "unknown feature group '{g}' (loaded groups: {}; `all` = every group)",
                    known.join(", ")
                ));
            }
        }
        for n in names {
            if !all
                .iter()
                .any(|(_, _, f)| f.name.as_str() == n || f.id.as_str() == n)
            {
                // a dotted name is an id (`group.name`), else a column name
                let hint = crate::suggest::did_you_mean(
                    n,
                    all.iter().map(|(_, _, f)| {
                        if n.contains('.') {
                            f.id.as_str()
                        } else {
                            f.name.as_str()
                        }
                    }),
                );
                return Err(format!("unknown feature '{n}'{hint} (see `jj features`)"));
            }
        }
        let any = profile.is_some() || !groups.is_empty() || !names.is_empty();
        let columns = all
            .iter()
            .filter(|(e, _, f)| {
                let two_pass = self.extractors[*e].info.requirements.needs_all_flows != 0;
                (!any && (two_pass_by_default || !two_pass))
                    || every_group
                    || profile.is_some_and(|p| self.profiles_of(f).iter().any(|x| x == p))
                    || groups
                        .iter()
                        .any(|g| self.extractors[*e].info.group.as_str() == g)
                    || names
                        .iter()
                        .any(|n| f.name.as_str() == n || f.id.as_str() == n)
            })
            .map(|(e, i, _)| (*e, *i))
            .collect();
        Ok(Selection { columns })
    }
}

/// The chosen output columns as (extractor index, feature index) in output order.
#[derive(Clone, Debug)]
pub struct Selection {
    pub columns: Vec<(usize, usize)>,
}
