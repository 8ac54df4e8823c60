//! Region boundaries: a GeoJSON FeatureCollection of region polygons
//! (kabupaten/kota, provinces), each with a Kemendagri `region_code`
//! property, and the region code of a point — the most specific of the
//! polygons that contain it, or none outside them all (then the complaint has
//! no region and goes to triage).
//!
//! It reads one file and answers point queries; it does not route, know rule
//! sets, or fetch boundaries from anywhere.

use std::path::{Path, PathBuf};

use aduan_domain::RegionCode;
use geo::{BoundingRect, Contains, Coord, Intersects, MultiPolygon, Point, Rect};
use geojson::{GeoJson, GeometryValue};

/// The feature property that holds a polygon's region code.
pub const REGION_PROPERTY: &str = "region_code";

/// Why a boundary file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file cannot be read.
    #[error("cannot read the boundary file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The text is not GeoJSON.
    #[error("not GeoJSON: {0}")]
    Syntax(String),
    /// It is GeoJSON, but not a FeatureCollection.
    #[error("expected a GeoJSON FeatureCollection of region polygons")]
    NotACollection,
    /// It holds no feature.
    #[error("the FeatureCollection holds no region")]
    Empty,
    /// One feature is unusable.
    #[error("feature {index}: {why}")]
    Feature {
        /// Its 0-based position in the collection.
        index: usize,
        /// What is wrong with it.
        why: String,
    },
}

/// One region's area.
#[derive(Debug, Clone)]
struct Region {
    code: RegionCode,
    area: MultiPolygon<f64>,
    /// Tested first: most points are far outside most regions.
    bbox: Rect<f64>,
}

/// The regions of one boundary file, in file order.
#[derive(Debug, Clone)]
pub struct Boundaries {
    regions: Vec<Region>,
}

impl Boundaries {
    /// Reads and checks a boundary file.
    pub fn load(path: &Path) -> Result<Self, GeoError> {
        let text = std::fs::read_to_string(path).map_err(|source| GeoError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and checks GeoJSON text: a FeatureCollection whose every feature
    /// is a Polygon or MultiPolygon with a valid [`REGION_PROPERTY`].
    pub fn parse(text: &str) -> Result<Self, GeoError> {
        let json: GeoJson = text
            .parse()
            .map_err(|e: geojson::Error| GeoError::Syntax(e.to_string()))?;
        let GeoJson::FeatureCollection(fc) = json else {
            return Err(GeoError::NotACollection);
        };
        if fc.features.is_empty() {
            return Err(GeoError::Empty);
        }
        let regions = fc
            .features
            .iter()
            .enumerate()
            .map(|(index, f)| region(f).map_err(|why| GeoError::Feature { index, why }))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { regions })
    }

    /// How many regions the file holds.
    pub fn len(&self) -> usize {
        self.regions.len()
    }

    /// True when it holds none (never, for a loaded file).
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// The region code of the point (WGS 84 degrees): of the polygons that
    /// contain it (a point on an edge counts), the one with the most levels
    /// (`33.18` over `33`); the first in file order among equals. None when
    /// no polygon holds it, or the coordinates are not finite.
    pub fn locate(&self, lat: f64, lon: f64) -> Option<&RegionCode> {
        if !lat.is_finite() || !lon.is_finite() {
            return None;
        }
        let p = Point::new(lon, lat);
        let mut best: Option<&Region> = None;
        for r in &self.regions {
            if !r.bbox.intersects(&p) || !(r.area.contains(&p) || r.area.intersects(&p)) {
                continue;
            }
            if best.is_none_or(|b| r.code.depth() > b.code.depth()) {
                best = Some(r);
            }
        }
        best.map(|r| &r.code)
    }
}

fn region(f: &geojson::Feature) -> Result<Region, String> {
    let code = match f.property(REGION_PROPERTY) {
        Some(serde_json_value) => serde_json_value
            .as_str()
            .ok_or_else(|| format!("property {REGION_PROPERTY:?} must be a string"))?,
        None => return Err(format!("no {REGION_PROPERTY:?} property")),
    };
    let code = RegionCode::parse(code).map_err(|e| e.to_string())?;
    let geometry = f
        .geometry
        .as_ref()
        .ok_or_else(|| format!("region {code} has no geometry"))?;
    let area: MultiPolygon<f64> = match &geometry.value {
        GeometryValue::Polygon { .. } => {
            MultiPolygon::new(vec![geo::Polygon::try_from(&geometry.value)
                .map_err(|e| format!("region {code}: {e}"))?])
        }
        GeometryValue::MultiPolygon { .. } => {
            MultiPolygon::try_from(&geometry.value).map_err(|e| format!("region {code}: {e}"))?
        }
        _ => return Err(format!("region {code}: expected a Polygon or MultiPolygon")),
    };
    let finite = area
        .0
        .iter()
        .flat_map(|p| {
            p.exterior()
                .coords()
                .chain(p.interiors().iter().flat_map(|i| i.coords()))
        })
        .all(|c: &Coord<f64>| c.x.is_finite() && c.y.is_finite());
    let bbox = area
        .bounding_rect()
        .filter(|_| finite)
        .ok_or_else(|| format!("region {code}: polygon has no finite area"))?;
    Ok(Region { code, area, bbox })
}

#[cfg(test)]
mod tests;
