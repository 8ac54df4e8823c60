//! JSON for a protobuf oneof, as its chosen field: `{"reject": {...}}`.
//!
//! serde's `flatten` on an `Option` turns every error inside it into `None`
//! (serde-rs/serde#1183), so `{"acknowledge": true}` or two actions at once
//! would read as "no action". This deserializer, used with `flatten`, reports
//! them instead: no chosen field is `None`, one is decoded with its own errors,
//! two or more are an error. Fields that are not the oneof's are left alone.

use serde::de::{self, DeserializeOwned, Deserializer, Error as _, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Deserializes the oneof `T` from the fields its message did not claim.
pub fn deserialize<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let names = variant_names::<T>();
    let rest = Map::<String, Value>::deserialize(d)?;
    let mut chosen = rest
        .into_iter()
        .filter(|(k, _)| names.contains(&k.as_str()));
    let Some((name, value)) = chosen.next() else {
        return Ok(None);
    };
    if let Some((other, _)) = chosen.next() {
        return Err(D::Error::custom(format!(
            "give one of {} only, not both {name} and {other}",
            names.join(", ")
        )));
    }
    let one = Value::Object(Map::from_iter([(name.clone(), value)]));
    T::deserialize(one)
        .map(Some)
        .map_err(|e| D::Error::custom(format!("{name}: {e}")))
}

/// The variant names serde uses for enum `T`.
fn variant_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    // Always an error: `Names` only records what the enum asks for.
    let _ = T::deserialize(Names(&mut names));
    names
}

/// A deserializer that records the variant names an enum asks for and fails.
struct Names<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for Names<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(Self::Error::custom("not an enum"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = variants;
        Err(Self::Error::custom("variant names recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}
