//! Finding where a path (`classes.prod.auto[1]`) is in a YAML text, so that errors found after
//! parsing (an undefined class, a forbidden action in a class list) still say line and column.
//!
//! yaml_serde has no span API, but it stamps the position of the node being read onto any error a
//! visitor returns. So we walk the document along the path with a visitor and fail on purpose at
//! the node we want; the error's location is the node's.

use super::error::{Location, Seg};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

const FOUND: &str = "nightwatch-policy-locate: found";

pub(crate) fn locate(text: &str, path: &[Seg]) -> Option<Location> {
    match (Seek { path }).deserialize(yaml_serde::Deserializer::from_str(text)) {
        Err(error) if error.to_string().contains(FOUND) => error.location().map(|l| Location {
            line: l.line(),
            column: l.column(),
        }),
        _ => None,
    }
}

struct Seek<'p> {
    path: &'p [Seg],
}

impl Seek<'_> {
    fn scalar<E: de::Error>(self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        let mut index = 0;
        loop {
            let more = if *first == Seg::Index(index) {
                seq.next_element_seed(Seek { path: rest })?.is_some()
            } else {
                seq.next_element::<IgnoredAny>()?.is_some()
            };
            if !more {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        while let Some(key) = map.next_key::<yaml_serde::Value>()? {
            let hit = matches!((first, &key), (Seg::Key(want), yaml_serde::Value::String(got)) if want == got);
            if hit {
                map.next_value_seed(Seek { path: rest })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}
