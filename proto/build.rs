//! Compiles proto/aduan/v1/*.proto with protox, so no system `protoc` is needed.

use std::path::PathBuf;

/// A oneof in JSON is its chosen field, read strictly (see src/oneof.rs).
const ONEOF_ATTRIBUTE: &str = "#[serde(flatten, deserialize_with = \"crate::oneof::deserialize\")]";

/// The messages the HTTP API sends or accepts as JSON (services/api/src/openapi.rs);
/// a message's path covers its nested messages and oneofs too.
const HTTP_MESSAGES: [&str; 9] = [
    ".aduan.v1.Location",
    ".aduan.v1.Reporter",
    ".aduan.v1.Error",
    ".aduan.v1.SubmitComplaint",
    ".aduan.v1.SubmitAck",
    ".aduan.v1.OpdCommand",
    ".aduan.v1.CommandAck",
    ".aduan.v1.StatusView",
    ".aduan.v1.TimelineEntry",
];

/// What the API checks of a request field, stated in its JSON Schema so that
/// clients (and schemathesis) know it; the checks themselves live in intake,
/// domain and commands (CONTRACT.md's names, codes and limits).
const FIELD_SCHEMAS: [(&str, &str); 16] = [
    (
        ".aduan.v1.SubmitComplaint.channel",
        r#"required = true, pattern = "^[a-z0-9-]{1,32}$""#,
    ),
    (".aduan.v1.SubmitComplaint.channel_ref", "max_length = 128"),
    (
        ".aduan.v1.SubmitComplaint.kind",
        r#"pattern = "^(complaint|aspiration|information_request)?$""#,
    ),
    (".aduan.v1.SubmitComplaint.title", "max_length = 200"),
    (
        ".aduan.v1.SubmitComplaint.body",
        r#"required = true, min_length = 1, max_length = 20000, pattern = "\\S""#,
    ),
    (".aduan.v1.SubmitComplaint.category", "max_length = 64"),
    (
        ".aduan.v1.Location.region_code",
        r#"pattern = "^([0-9]{2}(\\.[0-9]{2}(\\.[0-9]{2}(\\.[0-9]{2,4})?)?)?)?$""#,
    ),
    (".aduan.v1.Location.address", "max_length = 500"),
    (".aduan.v1.Location.lat", "minimum = -90.0, maximum = 90.0"),
    (
        ".aduan.v1.Location.lon",
        "minimum = -180.0, maximum = 180.0",
    ),
    (".aduan.v1.Reporter.name", "max_length = 200"),
    (".aduan.v1.Reporter.phone", "max_length = 32"),
    (
        ".aduan.v1.Reporter.email",
        r#"max_length = 254, pattern = "^$|@""#,
    ),
    (
        ".aduan.v1.Reporter.privacy",
        r#"pattern = "^(public|confidential|anonymous)?$""#,
    ),
    (
        ".aduan.v1.OpdCommand.complaint_id",
        r#"pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$""#,
    ),
    (
        ".aduan.v1.OpdCommand.Reject.suggested_org",
        r#"pattern = "^([a-z0-9][a-z0-9-]{1,63})?$""#,
    ),
];

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
    // The messages of the HTTP API carry their JSON Schema (OpenAPI) under the
    // `openapi` feature; serde's attributes above shape it, so it is what is sent.
    for message in HTTP_MESSAGES {
        config.type_attribute(
            message,
            "#[cfg_attr(feature = \"openapi\", derive(utoipa::ToSchema))]",
        );
    }
    // `Action` alone would say nothing in the document's list of schemas.
    config.type_attribute(
        ".aduan.v1.OpdCommand.action",
        "#[cfg_attr(feature = \"openapi\", schema(as = OpdAction))]",
    );
    for (field, schema) in FIELD_SCHEMAS {
        config.field_attribute(
            field,
            format!("#[cfg_attr(feature = \"openapi\", schema({schema}))]"),
        );
    }
    for oneof in [
        ".aduan.v1.SubmitReply.result",
        ".aduan.v1.CommandReply.result",
        ".aduan.v1.StatusReply.result",
        ".aduan.v1.OpdCommand.action",
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
