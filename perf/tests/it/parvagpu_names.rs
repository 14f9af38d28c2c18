//! ParvaGPU's model names, as core's importer keeps them, resolve in the zoo: an imported
//! table names models the analytic tables can be generated for.

use migsched_core::import::parse_profiles;
use migsched_core::import::parvagpu::HEADER;
use migsched_core::{Catalog, ProfileTable};
use migsched_perf::zoo::model_info;

#[test]
fn the_zoo_accepts_the_model_names_parvagpu_files_import_as() {
    let text = format!("{}\r\n1,1,1,74,0.013\r\n", HEADER.join(","));
    let files = [("BERT", text.as_str()), ("ResNet50", text.as_str())];
    let gpu = Catalog::builtin().gpu("a100-80gb").unwrap();
    let raw = parse_profiles(&files, gpu).unwrap();
    let table = ProfileTable::from_raw(Catalog::builtin(), raw, "prof_data").unwrap();
    assert_eq!(table.models(), ["bert", "resnet50"]);
    let canonical: Vec<&str> = table
        .models()
        .iter()
        .map(|m| model_info(m).unwrap().name)
        .collect();
    assert_eq!(
        canonical,
        ["bert-base", "resnet50"],
        "the zoo must keep accepting ParvaGPU's names"
    );
}
