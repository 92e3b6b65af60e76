//! The engine builds the `config/` folder into the binary (`ConfigSource::BuiltIn`): a file added
//! to or removed from it must rebuild the engine, which `include_dir!` alone does not notice.

fn main() {
    println!("cargo:rerun-if-changed=../config");
}
