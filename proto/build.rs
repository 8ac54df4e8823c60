//! Compiles proto/aduan/v1/*.proto with protox, so no system `protoc` is needed.

use std::path::PathBuf;

/// A oneof in JSON is its chosen field, read strictly (see src/oneof.rs).
const ONEOF_ATTRIBUTE: &str = "#[serde(flatten, deserialize_with = \"crate::oneof::deserialize\")]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from("aduan/v1");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "proto") {
            println!("cargo:rerun-if-changed={}", path.display());
            files.push(path);
        }
    }
    files.sort();
    let fds = protox::compile(&files, ["."])?;
    let mut config = prost_build::Config::new();
    // JSON mirrors protobuf field for field (CONTRACT.md): snake_case names,
    // missing fields take their defaults, a oneof appears as its chosen field.
    config.type_attribute(
        ".aduan.v1",
        "#[derive(serde::Serialize, serde::Deserialize)] #[serde(rename_all = \"snake_case\")]",
    );
    config.message_attribute(".aduan.v1", "#[serde(default)]");
    for oneof in [
        ".aduan.v1.SubmitReply.result",
        ".aduan.v1.CommandReply.result",
        ".aduan.v1.StatusReply.result",
        ".aduan.v1.OpdCommand.action",
        ".aduan.v1.AdminCommand.action",
    ] {
        config.field_attribute(oneof, ONEOF_ATTRIBUTE);
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    config.out_dir(&out_dir).compile_fds(fds)?;
    // prost applies a oneof's field attributes to its variants too, where
    // `flatten` is not allowed; variants sit one level deeper (8 spaces).
    let generated = out_dir.join("aduan.v1.rs");
    let code = std::fs::read_to_string(&generated)?;
    let variant_attribute = format!("        {ONEOF_ATTRIBUTE}\n");
    std::fs::write(&generated, code.replace(&variant_attribute, ""))?;
    Ok(())
}
