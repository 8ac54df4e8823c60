//! The OpenAPI description of the Open311 routes (feature `openapi`): each
//! handler carries its `#[utoipa::path]` with the path as served under
//! [`crate::PREFIX`], and [`ApiDoc`] gathers them with the schemas, the
//! `api_key` security scheme and the form a `POST requests.json` takes. The
//! HTTP API merges it into its `/openapi.json`.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The form of `POST requests.json` (`application/x-www-form-urlencoded`).
/// Parameters of the spec not listed here are ignored.
#[derive(Debug, ToSchema)]
#[schema(as = Open311NewRequest)]
#[allow(dead_code)]
pub struct NewRequest {
    /// A service code of `services.json` (a category of the rule set).
    service_code: String,
    /// The complaint: its first line, cut to 100 characters, is the title.
    #[schema(pattern = "\\S")]
    description: String,
    /// WGS 84 latitude; with `long`, or give `address_string`.
    #[schema(minimum = -90.0, maximum = 90.0)]
    lat: Option<f64>,
    /// WGS 84 longitude; with `lat`.
    #[schema(minimum = -180.0, maximum = 180.0)]
    long: Option<f64>,
    /// The address, required when there is no point.
    address_string: Option<String>,
    /// The reporter's first name.
    first_name: Option<String>,
    /// The reporter's last name.
    last_name: Option<String>,
    /// The reporter's e-mail address.
    email: Option<String>,
    /// The reporter's phone number.
    phone: Option<String>,
    /// aduan's addition: `public`, `confidential` (the default) or `anonymous`.
    privacy: Option<String>,
    /// An API token (optional): the adapter that posts.
    api_key: Option<String>,
}

/// The `api_key` security scheme: an API token in the query string.
struct Key;

impl Modify for Key {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "api_key",
                "Optional: an API token (`aduan token issue`) naming the adapter; an unknown one gets 403. A POST sends it as a form field instead.",
            ))),
        );
    }
}

/// The derived document of the Open311 routes.
#[derive(OpenApi)]
#[openapi(
    paths(
        crate::read::services,
        crate::read::definition,
        crate::read::requests,
        crate::submit::post,
        crate::read::request,
    ),
    components(schemas(crate::ErrorEntry)),
    modifiers(&Key),
    tags((name = "open311", description = "Open311 GeoReport v2 (JSON only); errors are an array of `{code, description}`, \
        except a 503 of the server-wide limits (too many requests in flight, a timeout), which carries the API's `{\"error\": …}` body.")),
)]
pub struct ApiDoc;

/// The document of the Open311 routes, paths as served.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
