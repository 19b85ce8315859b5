//! `docs/checks/<id>.md` is generated from `checks/<id>.toml`; this test fails when they drift.
//! `SSM_DOCTOR_BLESS=1 cargo test --test docs` regenerates them.

use ssm_doctor::catalog::Catalog;
use ssm_doctor::render::page::check_page;
use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn check_pages_in_docs_match_the_catalogue() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/checks");
    let bless = std::env::var_os("SSM_DOCTOR_BLESS").is_some();
    let catalog = Catalog::get();
    let mut expected = BTreeSet::new();
    for id in catalog.ids() {
        let path = dir.join(format!("{id}.md"));
        let page = check_page(catalog.page(id).unwrap());
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &page).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == page,
            "{} is stale: SSM_DOCTOR_BLESS=1 cargo test --test docs",
            path.display()
        );
        expected.insert(format!("{id}.md"));
    }
    let present: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(present, expected, "docs/checks/ holds a page for no check");
}
