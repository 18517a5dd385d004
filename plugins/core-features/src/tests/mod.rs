//! Hand-built flows, every feature checked against values worked out by hand. Floats
//! are compared bit-for-bit; where the arithmetic is not exact the expected literal is
//! what Python 3 / numpy gives for the spec's formula on `float("<decimal timestamp>")`
//! values (noted next to it).
//!
//! Timestamps are mostly multiples of `Q` = 1/256 s after `T0`: such values are exact
//! in `f64` (T0 needs 31 bits, 1/256 eight more), so every IAT and sum is exact and the
//! hand-worked fractions are the exact expected values.
use jj_kit::testutil::*;
use jj_plugin_api::{
    ErrorKind, Extractor, ExtractorFactory, ExtractorInfo, FeatureMeta, Options, PluginError, Value,
};

mod describe;
mod size;
mod tcp;
mod timing;

/// 1/256 s in nanoseconds.
pub const Q: i64 = 3_906_250;

/// One extracted row with its column names.
pub struct Row {
    pub features: Vec<FeatureMeta>,
    pub values: Vec<Value>,
}

impl Row {
    pub fn get(&self, name: &str) -> &Value {
        let k = self
            .features
            .iter()
            .position(|m| m.name.as_str() == name)
            .unwrap_or_else(|| panic!("no feature {name}"));
        &self.values[k]
    }
    pub fn f(&self, name: &str) -> u64 {
        f(self.get(name))
    }
    pub fn i(&self, name: &str) -> i64 {
        i(self.get(name))
    }
    pub fn b(&self, name: &str) -> bool {
        bl(self.get(name))
    }
    pub fn names(&self) -> Vec<&str> {
        self.features.iter().map(|m| m.name.as_str()).collect()
    }
}

/// Describes and creates an extractor from `options` text and runs it on `flow`.
pub fn run<F: ExtractorFactory>(factory: &F, options: &str, flow: &TestFlow) -> Row {
    let o = Options::parse(options);
    let info: ExtractorInfo = factory.describe(&o).unwrap();
    let mut inst = factory.create(&o).unwrap();
    let mut values = vec![Value::Null; info.features.len()];
    inst.extract(&flow.view(), &mut values).unwrap();
    assert!(
        values.iter().all(|v| !matches!(v, Value::Null)),
        "every slot is set"
    );
    Row {
        features: info.features.into_vec(),
        values,
    }
}

/// The configuration error `factory` gives for `options` (from describe and create).
pub fn config_error<F: ExtractorFactory>(factory: &F, options: &str) -> PluginError {
    let o = Options::parse(options);
    let e = factory.describe(&o).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Config, "{options}");
    assert!(factory.create(&o).is_err(), "{options}");
    e
}

#[test]
fn exported_root_module_lists_the_three_extractors() {
    use jj_plugin_api::abi_stable::std_types::{RSliceMut, RStr};
    let root = crate::jj_plugin_root_module();
    let lib = root.library()();
    assert_eq!(lib.name.as_str(), "jj-core-features");
    assert_eq!(lib.api_version.as_str(), jj_plugin_api::API_VERSION);
    let decls = root.extractors()();
    let names: Vec<&str> = decls.iter().map(|d| d.info.name.as_str()).collect();
    assert_eq!(names, ["timing", "size", "tcp"]);

    // Through the FFI trait objects, as the host calls them.
    let flow = TestFlow::tcp4(vec![
        pkt(T0, DIR_FWD, 60, 0, flags::SYN),
        pkt(T0 + 2 * Q, DIR_BWD, 60, 0, flags::SYN | flags::ACK),
    ]);
    for (decl, count) in decls.iter().zip([31 + 2 + 4, 42 + 1, 26]) {
        let options = RStr::from("include_sequences=true\ninclude_splt=true\n");
        let info = decl.factory.describe(options).unwrap();
        assert_eq!(info.features.len(), count);
        let mut inst = decl.factory.create(options).unwrap();
        let mut out = vec![Value::Null; count];
        inst.extract(&flow.view(), RSliceMut::from_mut_slice(&mut out))
            .unwrap();
        assert!(out.iter().all(|v| !matches!(v, Value::Null)));
        // a wrong slot count is an error, not a panic
        let mut short = vec![Value::Null; 3];
        assert!(inst
            .extract(&flow.view(), RSliceMut::from_mut_slice(&mut short))
            .is_err());
        assert!(decl
            .factory
            .describe(RStr::from("burst_threshold_ms=0\n"))
            .is_err());
    }
}

use jj_plugin_api::{DIR_BWD, DIR_FWD};
