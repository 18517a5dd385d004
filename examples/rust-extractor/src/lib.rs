//! An example jj extractor plugin (group `example_rust`): two int64 columns per flow.
use jj_plugin_api::*;
struct Factory; // registered with jj; creates one Instance per worker thread
struct Instance; // per-thread state (none needed here)

impl ExtractorFactory for Factory {
    type Instance = Instance;
    fn describe(&self, _options: &Options) -> PluginResult<ExtractorInfo> {
        let int = |name, desc| FeatureMeta::new("example_rust", name, DType::Int64, desc);
        let features = vec![
            int("ex_fwd_bwd_packet_diff", "Forward minus backward packets").units("packets"),
            int("ex_max_ttl", "Largest IP TTL / hop limit"),
        ];
        Ok(ExtractorInfo {
            group: "example_rust".into(),
            features: features.into(),
            requirements: Requirements::default(), // lengths only: no payload bytes kept
        })
    }
    fn create(&self, _options: &Options) -> PluginResult<Instance> {
        Ok(Instance)
    }
    // It reads no option. Declaring that lets jj refuse a misspelt config-file key
    // (left undeclared, `None`, jj can only warn, as this plugin might read it).
    fn options(&self) -> Option<Vec<OptionSpec>> {
        Some(vec![])
    }
}

impl Extractor for Instance {
    fn extract(&mut self, flow: &FlowView<'_>, out: &mut [Value]) -> PluginResult<()> {
        let fwd = flow.packets().iter().filter(|p| p.dir == DIR_FWD).count() as i64;
        out[0].set_int(2 * fwd - flow.packets().len() as i64);
        let max_ttl = flow.packets().iter().map(|p| i64::from(p.ttl)).max();
        out[1] = max_ttl.map_or(Value::Null, Value::Int);
        Ok(())
    }
}

jj_plugin_api::export_plugin! {
    name: "jj-example-rust-extractor",
    version: env!("CARGO_PKG_VERSION"),
    extractors: [ "example_rust" => ("Example: packet balance and maximum TTL", Factory) ],
}
