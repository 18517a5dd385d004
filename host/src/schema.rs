//! Renders the runtime schema: JoyfulJay's schema v1.0 JSON layout, CSV and Markdown.
use crate::catalog::Catalog;
use jj_plugin_api::FeatureMeta;
use serde_json::{json, Map, Value as J};

fn sentinel(f: &FeatureMeta) -> J {
    serde_json::from_str(f.missing_sentinel.as_str()).unwrap_or(J::Null)
}

fn profile_label(cat: &Catalog, f: &FeatureMeta) -> String {
    let ps = cat.profiles_of(f);
    if ps.is_empty() {
        "unassigned".to_string()
    } else {
        ps.join(",")
    }
}

/// The schema JSON: top-level fields as JoyfulJay's v1.0 file, features keyed by id and
/// sorted, each with the 13 fields in JoyfulJay's key order.
pub fn to_json(cat: &Catalog) -> String {
    let mut feats: Vec<&FeatureMeta> = cat.features().map(|(_, f)| f).collect();
    feats.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let mut features = Map::new();
    for f in &feats {
        let deps: Vec<J> = f
            .dependencies
            .iter()
            .map(|d| J::String(d.to_string()))
            .collect();
        features.insert(
            f.id.to_string(),
            json!({
                "id": f.id.as_str(),
                "dtype": f.dtype.as_str(),
                "shape": if f.shape.is_empty() { json!("variable") } else { json!(f.shape.as_slice()) },
                "units": f.units.as_str(),
                "scope": f.scope.as_str(),
                "direction": f.direction.as_str(),
                "direction_semantics": f.direction_semantics.as_str(),
                "missing_policy": f.missing_policy.as_str(),
                "missing_sentinel": sentinel(f),
                "dependencies": deps,
                "privacy_level": f.privacy_level.as_str(),
                "description": f.description.as_str(),
                "profile": profile_label(cat, f),
            }),
        );
    }
    let mut profiles = Map::new();
    for p in cat.profile_names() {
        profiles.insert(p.clone(), json!(cat.profile_members(&p).len()));
    }
    let doc = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "jj feature schema",
        "description": "Features of the extractor plugins loaded in this run (JoyfulJay schema v1.0 layout)",
        "version": "v1.0",
        "jj_version": env!("CARGO_PKG_VERSION"),
        "total_features": feats.len(),
        "profiles": profiles,
        "features": features,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One line per feature in output order.
pub fn to_csv(cat: &Catalog) -> String {
    let mut out = String::from("id,name,group,dtype,units,scope,direction,missing_policy,privacy_level,profile,description\n");
    for (e, f) in cat.features() {
        let fields = [
            f.id.as_str(),
            f.name.as_str(),
            cat.extractors[e].info.group.as_str(),
            f.dtype.as_str(),
            f.units.as_str(),
            f.scope.as_str(),
            f.direction.as_str(),
            f.missing_policy.as_str(),
            f.privacy_level.as_str(),
            &profile_label(cat, f),
            f.description.as_str(),
        ];
        let line: Vec<String> = fields.iter().map(|s| csv_field(s)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// Markdown tables, one per group, in output order.
pub fn to_markdown(cat: &Catalog) -> String {
    let mut out = String::from("# Features\n");
    for e in &cat.extractors {
        out.push_str(&format!(
            "\n## {} ({} features, extractor `{}`)\n\n| column | dtype | units | profile | description |\n|---|---|---|---|---|\n",
            e.info.group,
            e.info.features.len(),
            e.name
        ));
        for f in e.info.features.iter() {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                f.name,
                f.dtype.as_str(),
                f.units,
                profile_label(cat, f),
                f.description.replace('|', "\\|")
            ));
        }
    }
    out
}
