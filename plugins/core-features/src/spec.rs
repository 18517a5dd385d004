//! Static feature descriptions, turned into [`FeatureMeta`] by `describe`.
use jj_plugin_api::{DType, FeatureMeta};

/// The profile every feature of this crate declares.
pub const PROFILE: &str = "JJ-CORE";

pub const IP: &[&str] = &["ip"];
pub const TCP: &[&str] = &["tcp"];

/// Direction semantics.
pub const INIT: &str = "initiator = sender of the flow's first packet";
pub const BOTH: &str = "packets of both directions, in arrival order";
pub const FWD: &str = "packets sent by the initiator only";
pub const BWD: &str = "packets sent by the responder only";

/// One feature of a table.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub name: &'static str,
    pub dtype: DType,
    pub units: &'static str,
    /// `flow`, `direction`, `burst` or `packet_seq`.
    pub scope: &'static str,
    pub direction: &'static str,
    pub semantics: &'static str,
    /// `nan`, `zero` or `empty` (the reference's schema value).
    pub missing: &'static str,
    pub deps: &'static [&'static str],
    pub description: &'static str,
}

/// A flow-scoped, bidirectional feature with dependency `ip`.
pub const fn spec(
    name: &'static str,
    dtype: DType,
    units: &'static str,
    missing: &'static str,
    description: &'static str,
) -> Spec {
    Spec {
        name,
        dtype,
        units,
        scope: "flow",
        direction: "bidir",
        semantics: BOTH,
        missing,
        deps: IP,
        description,
    }
}

impl Spec {
    /// Computed from the initiator's packets only.
    pub const fn fwd(mut self) -> Self {
        self.scope = "direction";
        self.direction = "src_to_dst";
        self.semantics = FWD;
        self
    }
    /// Computed from the responder's packets only.
    pub const fn bwd(mut self) -> Self {
        self.scope = "direction";
        self.direction = "dst_to_src";
        self.semantics = BWD;
        self
    }
    pub const fn scope(mut self, scope: &'static str) -> Self {
        self.scope = scope;
        self
    }
    pub const fn direction(mut self, direction: &'static str, semantics: &'static str) -> Self {
        self.direction = direction;
        self.semantics = semantics;
        self
    }
    pub const fn semantics(mut self, semantics: &'static str) -> Self {
        self.semantics = semantics;
        self
    }
    pub const fn deps(mut self, deps: &'static [&'static str]) -> Self {
        self.deps = deps;
        self
    }

    /// The feature's metadata in `group`.
    pub fn meta(&self, group: &str) -> FeatureMeta {
        let mut m = FeatureMeta::new(group, self.name, self.dtype, self.description)
            .units(self.units)
            .scope(self.scope)
            .direction(self.direction)
            .missing(self.missing, "null")
            .privacy("safe")
            .deps(self.deps)
            .profile(PROFILE);
        m.direction_semantics = self.semantics.into();
        m
    }

    /// Metadata of a sequence padded to a fixed `len` (shape `[len]`).
    pub fn meta_fixed_len(&self, group: &str, len: usize) -> FeatureMeta {
        let mut m = self.meta(group);
        m.shape = vec![len as i64].into();
        m
    }
}
